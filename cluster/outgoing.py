"""A worker's transitions on their way to the events stream.

The pipeline's sink runs on scoring threads and must never wait for the bus: it only queues.
One task publishes in order, each snapshot JPEG before the message that names it, and retries a
message (same id, so the stream keeps one copy) until the stream acknowledged it. While the bus
is down, transitions wait here; the detector keeps running.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cluster.bus import BUS_ERRORS, Bus
from cluster.messages import (
    HeldMessage,
    TransitionMessage,
    encode_jpeg,
    new_id,
    transition_message,
)
from cluster.metrics import BusCounters
from cluster.settings import EVENTS_SUBJECT
from detector.types import EventUpdate
from streams.frame import Frame

log = logging.getLogger(__name__)
#: Wait before publishing a message again after the bus refused or did not answer (seconds).
RETRY_S = 0.5


@dataclass(frozen=True, slots=True)
class Outgoing:
    message: TransitionMessage | HeldMessage
    frame: Frame | None = None


class Publisher:
    """Queues transitions from any thread; publishes them from the worker's loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        counters: BusCounters,
        *,
        worker: str,
        incarnation: str,
        runs: Mapping[str, str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``runs``: camera id -> the id of its current run in this process (the worker
        changes it whenever it starts the camera again: track numbers start again)."""
        self._loop = loop
        self._counters = counters
        self._worker = worker
        self._incarnation = incarnation
        self._runs = runs
        self._clock = clock
        self._queue: asyncio.Queue[Outgoing] = asyncio.Queue()
        self._idle = asyncio.Event()
        self._idle.set()

    def sink(self, update: EventUpdate) -> None:
        """The pipeline's event sink (any thread)."""
        message = transition_message(
            update,
            msg_id=new_id(),
            worker=self._worker,
            incarnation=self._incarnation,
            sent_at=self._clock(),
            run=self._runs.get(update.camera_id, ""),
        )
        self._loop.call_soon_threadsafe(self.put, Outgoing(message, update.frame))

    def held(self, camera_id: str, since: float) -> None:
        """Tell the recorder this process holds ``camera_id`` now (the loop's thread)."""
        message = HeldMessage(
            id=new_id(),
            worker=self._worker,
            incarnation=self._incarnation,
            camera_id=camera_id,
            sent_at=self._clock(),
            since=since,
        )
        self.put(Outgoing(message))

    def put(self, item: Outgoing) -> None:
        self._idle.clear()
        self._queue.put_nowait(item)
        self._counters.pending.set(self._queue.qsize())

    async def run(self, bus: Bus) -> None:
        """Publish forever (cancel to stop)."""
        while True:
            item = await self._queue.get()
            await self._send(bus, item)
            self._counters.pending.set(self._queue.qsize())
            if self._queue.empty():
                self._idle.set()

    async def flush(self, timeout: float) -> bool:
        """Wait until everything queued was published; False on timeout."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def _send(self, bus: Bus, item: Outgoing) -> None:
        message = item.message
        jpeg = None
        if item.frame is not None and isinstance(message, TransitionMessage) and message.snapshot:
            try:
                jpeg = await asyncio.to_thread(encode_jpeg, item.frame)
            except ValueError as exc:  # the transition goes without its snapshot
                log.error("camera %s: %s", message.camera_id, exc)
                message = message.model_copy(update={"snapshot": None})
        body = message.model_dump_json().encode()
        subject = f"{EVENTS_SUBJECT}.{message.camera_id}"
        while True:
            try:
                if jpeg is not None and isinstance(message, TransitionMessage) and message.snapshot:
                    # Once: putting it again would replace its chunks under a reader.
                    await bus.snapshots.put(message.snapshot, jpeg)
                    jpeg = None
                await bus.js.publish(subject, body, headers={"Nats-Msg-Id": message.id})
                self._counters.published.inc()
                return
            except BUS_ERRORS as exc:
                self._counters.publish_retries.inc()
                log.warning("camera %s: publish failed (%s), again", message.camera_id,
                            type(exc).__name__)  # fmt: skip
                await asyncio.sleep(RETRY_S)
