"""``emberwatch worker``: the cameras of this worker's share, analysed by the usual pipeline.

Every ``tick_s`` the worker renews its leases and heartbeat, reads the live workers, the
configured cameras and every lease, and acts on its part of :func:`cluster.assign.plan`: it lets
go of cameras planned for others (their open events close first) and takes free ones planned
for it. Camera changes and muted regions written by the API are applied on the same tick, so
within one tick of being made. No database: transitions and snapshots go on the bus.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Sequence

from pydantic import ValidationError

from cluster.assign import Member, moves, plan
from cluster.bus import (
    BUS_ERRORS,
    BucketCache,
    Bus,
    connect,
    entries,
    quietly,
    wait_or_timeout,
)
from cluster.leases import LeaseTable, read_leases
from cluster.metrics import BusCounters
from cluster.outgoing import Publisher
from cluster.settings import CAMERAS, MUTES, WORKERS, ClusterSettings
from cluster.state import DesiredState, decode_cameras, decode_mutes
from cluster.status import CameraStatus
from detector.modelspec import ModelError
from detector.types import Mute
from service.config import AppConfig
from service.metrics import Metrics
from service.pipeline import Pipeline
from streams.config import CameraConfig

log = logging.getLogger(__name__)
#: How long a stopping worker waits for its last transitions to be published (seconds).
FLUSH_S = 10.0


class Worker:
    """One worker process. ``pipeline`` is built with no camera; cameras come and go."""

    def __init__(
        self,
        settings: ClusterSettings,
        config: AppConfig,
        metrics: Metrics,
        *,
        pipeline: Pipeline | None = None,
    ) -> None:
        self.settings = settings
        self.config = config.model_copy(update={"cameras": []})
        self.metrics = metrics
        self.counters = BusCounters(metrics.registry)
        self.incarnation = uuid.uuid4().hex[:12]
        self._pipeline = pipeline
        self._desired = DesiredState()
        self._applied: dict[str, CameraConfig] = {}
        self._applied_mutes: dict[str, tuple[Mute, ...]] = {}
        self._runs: dict[str, str] = {}  # camera id -> its run (cluster.outgoing.Publisher)
        self._waiting = False  # cameras are planned here that another worker still holds
        self._cameras, self._mutes = BucketCache(CAMERAS), BucketCache(MUTES)

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set: hold this worker's share of the cameras."""
        loop = asyncio.get_running_loop()
        name = self.settings.name
        publisher = Publisher(
            loop, self.counters, worker=name, incarnation=self.incarnation, runs=self._runs
        )
        bus = await connect(self.settings, self.counters)
        leases = LeaseTable(bus.leases, name, self.incarnation)
        pipeline = self._pipeline or Pipeline(
            self.config,
            publisher.sink,
            observer=self.metrics,
            mutes=lambda cam: self._desired.mutes.get(cam, ()),
        )
        self._pipeline = pipeline
        self.metrics.attach(pipeline)
        await asyncio.to_thread(pipeline.start)
        sending = asyncio.create_task(publisher.run(bus))
        log.info("worker %s (capacity %g, incarnation %s) running", name, self.settings.capacity,
                 self.incarnation)  # fmt: skip
        try:
            while not stop.is_set():
                try:
                    await self._tick(bus, leases, publisher, pipeline)
                except BUS_ERRORS as exc:  # the client reconnects; the next tick tries again
                    log.warning("worker %s: tick failed: %s", name, type(exc).__name__)
                # Cameras planned here but still held by their previous worker are freed on
                # its next tick: look again soon, so a moved camera is not left unwatched.
                wait = self.settings.tick_s / 4 if self._waiting else self.settings.tick_s
                await wait_or_timeout(stop, wait)
        finally:
            await self._leave(bus, leases, publisher, pipeline)
            sending.cancel()
            await bus.close()

    async def _leave(
        self, bus: Bus, leases: LeaseTable, publisher: Publisher, pipeline: Pipeline
    ) -> None:
        """A clean stop: close this worker's events, publish them, then free its cameras."""
        for cam in list(self._applied):
            await asyncio.to_thread(pipeline.remove_camera, cam)
        self._applied.clear()
        await asyncio.to_thread(pipeline.stop)
        if not await publisher.flush(FLUSH_S):
            log.warning("worker %s: transitions still unpublished at exit", self.settings.name)
        await leases.release_all()
        await quietly("leaving", bus.workers.delete(self.settings.name))  # or it runs out

    async def _tick(
        self, bus: Bus, leases: LeaseTable, publisher: Publisher, pipeline: Pipeline
    ) -> None:
        now = time.time()
        await self._heartbeat(bus)
        for cam in await leases.renew():
            self.counters.leases_lost.inc()
            log.warning("camera %s: lease lost; stopped here", cam)
            await self._stop_camera(pipeline, cam)
        self.counters.leases_renewed.inc(len(leases.held))
        members = await _members(bus)
        self._desired = DesiredState(
            cameras=decode_cameras(await self._cameras.refresh(bus.js)),
            mutes=decode_mutes(await self._mutes.refresh(bus.js)),
        )
        enabled = [c.id for c in self._desired.cameras.values() if c.enabled]
        current = await read_leases(bus.js)
        planned = plan(enabled, members, {k: v.holder for k, v in current.items()})
        todo = moves(self.settings.name, planned, leases.held, current)
        self._waiting = any(
            w == self.settings.name and c in current and c not in leases.held
            for c, w in planned.items()
        )
        for cam in todo.release:
            await self._stop_camera(pipeline, cam)  # its events close before the others start
            await leases.release(cam)
            self.counters.leases_released.inc()
        for cam in todo.acquire:
            lease = await leases.acquire(cam, now)
            if lease is not None:
                self.counters.leases_acquired.inc()
                publisher.held(cam, lease.since)
        await self._apply(pipeline, leases)
        self.counters.held.set(len(leases.held))
        await self._publish_status(bus, leases, pipeline)

    async def _heartbeat(self, bus: Bus) -> None:
        body = {"capacity": self.settings.capacity, "incarnation": self.incarnation}
        await bus.workers.put(self.settings.name, json.dumps(body).encode())

    async def _apply(self, pipeline: Pipeline, leases: LeaseTable) -> None:
        """Start held cameras, restart changed ones, hand over changed mutes."""
        for cam in leases.held:
            wanted = self._desired.cameras.get(cam)
            if wanted is None or not wanted.enabled:
                continue  # released on the next tick
            if self._applied.get(cam) != wanted:
                await self._start_camera(pipeline, wanted)
            mutes = self._desired.mutes.get(cam, ())
            if self._applied_mutes.get(cam, ()) != mutes:
                await asyncio.to_thread(pipeline.set_mutes, cam, mutes)
                self._applied_mutes[cam] = mutes

    async def _start_camera(self, pipeline: Pipeline, wanted: CameraConfig) -> None:
        cam = wanted.id
        if cam in self._applied:  # changed: its events close in the run they began in
            await asyncio.to_thread(pipeline.remove_camera, cam)
        # A new smoother numbers its tracks from 0 again: a new run keeps them apart.
        self._runs[cam] = _next_run(self._runs.get(cam))
        self._applied[cam] = wanted  # tried once per configuration, not on every tick
        self._applied_mutes[cam] = self._desired.mutes.get(cam, ())
        try:
            await asyncio.to_thread(pipeline.add_camera, wanted)
        except ModelError as exc:  # e.g. its model directory is missing on this node
            log.error("camera %s: cannot be analysed on this worker: %s", cam, exc)
            return
        log.info("camera %s: analysed here", cam)

    async def _stop_camera(self, pipeline: Pipeline, cam: str) -> None:
        if self._applied.pop(cam, None) is not None:
            await asyncio.to_thread(pipeline.remove_camera, cam)
        self._applied_mutes.pop(cam, None)

    async def _publish_status(self, bus: Bus, leases: LeaseTable, pipeline: Pipeline) -> None:
        held = leases.held
        for view in await asyncio.to_thread(pipeline.cameras):
            lease = held.get(view.config.id)
            if lease is None:
                continue
            status = CameraStatus.of(view, self.settings.name, lease.since)
            await bus.status.put(view.config.id, status.model_dump_json().encode())


async def _members(bus: Bus) -> Sequence[Member]:
    out = []
    for name, value in (await entries(bus.js, WORKERS)).items():
        try:
            capacity = float(json.loads(value)["capacity"])
        except (ValueError, KeyError, TypeError, ValidationError):
            log.warning("worker %s: unreadable heartbeat ignored", name)
            continue
        out.append(Member(name, capacity))
    return out


def _next_run(previous: str | None) -> str:
    return str(int(previous) + 1) if previous else "1"
