"""The API replica's pipeline when cameras are analysed by workers (``serve --bus``).

It implements what the HTTP layer needs of a pipeline from the bus: the camera list and each
camera's state from the workers' status entries (with who holds it and since when), camera
changes and muted regions written to the buckets the workers read, and, while this replica
holds the recorder role, the events stream recorded into the database.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from nats.aio.msg import Msg

from cluster.bus import (
    BUS_ERRORS,
    BucketCache,
    Bus,
    LoopThread,
    connect,
    entries,
    quietly,
    wait_or_timeout,
)
from cluster.changes import SUBJECT, decode_change, encode_change
from cluster.ingest import record_until
from cluster.leases import Lease, LeaseTable, read_leases
from cluster.metrics import BusCounters
from cluster.records import BusRecords
from cluster.settings import CAMERAS, STATUS, ClusterSettings
from cluster.state import decode_cameras, encode_camera, encode_mutes
from cluster.status import CameraStatus
from detector.masks import Polygon
from detector.types import Mute
from service.metrics import Metrics
from service.pipeline_types import CameraView
from store.events import EventChange, EventStore
from streams.config import CameraConfig
from streams.frame import Frame
from streams.redact import redact_url
from streams.state import SourceStats, StreamState

log = logging.getLogger(__name__)
ROLE = "recorder"
#: How long an HTTP request waits for a bucket write (seconds).
WRITE_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class BusView:
    """What the bus said on the last read: cameras, their leases and their holders' status."""

    cameras: dict[str, CameraConfig] = field(default_factory=dict)
    leases: dict[str, Lease] = field(default_factory=dict)
    status: dict[str, CameraStatus] = field(default_factory=dict)


def camera_views(view: BusView) -> list[CameraView]:
    """One view per camera; a camera without a holder's status is ``in hand-over``."""
    out = []
    for cfg in view.cameras.values():
        lease, status = view.leases.get(cfg.id), view.status.get(cfg.id)
        if not cfg.enabled:
            stopped = SourceStats(cfg.id, StreamState.STOPPED, redact_url(cfg.url))
            out.append(CameraView(cfg, stopped))
            continue
        if status is not None and lease is not None and status.holder == lease.holder:
            out.append(replace(status.view(cfg), holder=lease.holder, held_since=lease.since))
            continue
        stats = SourceStats(cfg.id, StreamState.CONNECTING, redact_url(cfg.url))
        holder, since = (lease.holder, lease.since) if lease else (None, None)
        out.append(CameraView(cfg, stats, holder=holder, held_since=since, handover=True))
    return out


def _status(raw: dict[str, bytes]) -> dict[str, CameraStatus]:
    out = {}
    for key, value in raw.items():
        with contextlib.suppress(ValueError):
            out[key] = CameraStatus.model_validate_json(value)
    return out


class ClusterPipeline:
    """A :class:`service.pipeline_types.CameraManager` whose cameras run on workers."""

    def __init__(
        self,
        settings: ClusterSettings,
        cameras: Sequence[CameraConfig],
        store: EventStore,
        metrics: Metrics,
    ) -> None:
        self.settings = settings
        self.counters = BusCounters(metrics.registry)
        self._seed = list(cameras)
        self._store = store
        self._records = BusRecords(store, metrics, self.counters)
        self._thread = LoopThread(f"bus-{settings.name}")
        self._view = BusView(cameras={c.id: c for c in cameras})
        self._bus: Bus | None = None
        self._main: concurrent.futures.Future[None] | None = None
        self._stopping: asyncio.Event | None = None
        self._recording: tuple[asyncio.Event, asyncio.Task[None]] | None = None
        # Camera and mute writes not yet on the bus: (bucket, key) -> value, None to delete.
        self._unsent: dict[tuple[str, str], bytes | None] = {}
        self._unsent_lock = threading.Lock()
        self._cameras = BucketCache(CAMERAS)
        store.add_listener(self._share_change)
        self.incarnation = uuid.uuid4().hex[:12]

    # --- PipelineLike ---------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background: the API serves (from the database) while the bus is away."""
        self._thread.start()
        self._stopping = self._thread.call(_event(), 5)
        self._main = self._thread.submit(self._run(self._stopping))

    def stop(self) -> None:
        if self._stopping is not None:
            self._thread.call_soon(self._stopping.set)
        if self._main is not None:
            with contextlib.suppress(Exception):
                self._main.result(30)
        self._thread.stop()

    def cameras(self) -> list[CameraView]:
        return camera_views(self._view)

    def latest_frame(self, camera_id: str) -> Frame | None:
        return None  # frames stay on the worker

    def set_mutes(self, camera_id: str, mutes: Sequence[Mute]) -> bool:
        return self._write("mutes", camera_id, encode_mutes(mutes))

    # --- CameraManager --------------------------------------------------------------------

    def add_camera(self, cam: CameraConfig) -> None:
        self._view = replace(self._view, cameras={**self._view.cameras, cam.id: cam})
        self._write("cameras", cam.id, encode_camera(cam))

    def remove_camera(self, camera_id: str) -> bool:
        cameras = dict(self._view.cameras)
        known = cameras.pop(camera_id, None) is not None
        self._view = replace(self._view, cameras=cameras)
        self._write("cameras", camera_id, None)
        return known

    def set_masks(self, camera_id: str, masks: Sequence[Polygon]) -> CameraConfig | None:
        cam = self._view.cameras.get(camera_id)
        if cam is None:
            return None
        updated = cam.model_copy(update={"masks": [list(p) for p in masks]})
        self.add_camera(updated)
        return updated

    # --- the bus side ---------------------------------------------------------------------

    def _write(self, bucket: str, key: str, value: bytes | None) -> bool:
        """Write (``None``: delete) ``key`` of a bucket the workers read; False when the bus
        is not reachable now: the write is kept and sent again on every tick until it goes."""
        with self._unsent_lock:
            self._unsent[(bucket, key)] = value
        bus = self._bus
        if bus is None:
            log.warning("bus: not connected yet, %s of camera %s sent later", bucket, key)
            return False
        try:
            self._thread.call(self._send_unsent(bus), WRITE_TIMEOUT_S)
        except BUS_ERRORS as exc:
            log.warning("bus: %s of camera %s sent later: %s", bucket, key, type(exc).__name__)
            return False
        return True

    async def _send_unsent(self, bus: Bus) -> None:
        with self._unsent_lock:
            todo = list(self._unsent.items())
        for (bucket, key), value in todo:
            kv = getattr(bus, bucket)
            await (kv.put(key, value) if value is not None else kv.delete(key))
            with self._unsent_lock:
                if self._unsent.get((bucket, key), b"") is value:  # not changed meanwhile
                    del self._unsent[(bucket, key)]

    def _share_change(self, change: EventChange) -> None:
        """Tell the other replicas of a change committed here (the writing thread)."""
        bus = self._bus
        if bus is not None:
            data = encode_change(change, self.incarnation)
            self._thread.submit(quietly("change announcement", bus.nc.publish(SUBJECT, data)))

    async def _on_change(self, msg: Msg) -> None:
        change = decode_change(msg.data, self.incarnation)
        if change is not None:
            await asyncio.to_thread(self._store.announce, change)

    async def _run(self, stopping: asyncio.Event) -> None:
        bus = await connect(self.settings, self.counters)
        await bus.nc.subscribe(SUBJECT, cb=self._on_change)
        self._bus = bus
        role = LeaseTable(bus.roles, self.settings.name, self.incarnation)
        try:
            await self._publish_seed(bus)
            while not stopping.is_set():
                try:
                    await self._tick(bus, role)
                except BUS_ERRORS as exc:
                    log.warning("bus: read failed: %s", type(exc).__name__)
                await wait_or_timeout(stopping, self.settings.tick_s)
        finally:
            await self._stop_recording()
            await role.release_all()
            await bus.close()

    async def _stop_recording(self) -> None:
        if self._recording is not None:
            done, task = self._recording
            done.set()
            await task
            self._recording = None

    async def _publish_seed(self, bus: Bus) -> None:
        """Put the configured cameras and their stored mutes where the workers read them."""
        on_bus = decode_cameras(await entries(bus.js, CAMERAS))
        for cam in self._seed:
            if on_bus.get(cam.id) != cam:
                await bus.cameras.put(cam.id, encode_camera(cam))
            mutes = [m.mute() for m in await asyncio.to_thread(self._store.mutes, cam.id)]
            await bus.mutes.put(cam.id, encode_mutes(mutes))

    async def _tick(self, bus: Bus, role: LeaseTable) -> None:
        await self._send_unsent(bus)  # before reading: the bus then has this replica's changes
        if await role.renew():
            log.warning("bus: recorder role lost")
            await self._stop_recording()
        elif self._recording is not None and self._recording[1].done():
            failed = self._recording[1].exception()  # a bug, not the bus or the database
            log.error("bus: recording stopped (%r); started again", failed)
            self._recording = None
            await role.release_all()
        if not role.held and await role.acquire(ROLE, time.time()) is not None:
            log.info("bus: this replica records the events stream")
            done = asyncio.Event()
            task = asyncio.create_task(record_until(bus, self._records, self.counters, done))
            self._recording = (done, task)
        self._view = BusView(
            cameras=decode_cameras(await self._cameras.refresh(bus.js)),
            leases=await read_leases(bus.js),
            status=_status(await entries(bus.js, STATUS)),
        )


async def _event() -> asyncio.Event:
    return asyncio.Event()  # made on the loop that waits on it
