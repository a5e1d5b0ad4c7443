"""The event recorder: one thread that stores the transitions the scoring threads queued.

The pipeline's sink is :meth:`Recorder.submit`, which only queues (:mod:`service.record_queue`);
encoding snapshots, writing files, committing rows and telling the listeners all happen here,
so a slow or blocked disk or database delays the records, never the scoring of any camera.
Transitions are stored in the order they were queued, so each event's opened, updates and
closed stay in order.

The thread is supervised (:mod:`streams.supervise`): an exception while storing one transition
is logged with its camera, counted, and the recorder goes on with the next one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from detector.types import EventUpdate
from service.record_queue import Backlog, RecordQueue
from streams.supervise import Heartbeat, Supervisor

log = logging.getLogger(__name__)

#: Stores one transition (the store and the metrics, :func:`api.app.make_sink`).
RecordFn = Callable[[EventUpdate], object]
#: The idle recorder looks for work and beats this often (seconds).
POLL_S = 1.0
#: The heartbeat interval it promises: one transition may wait out SQLite's 10 s busy timeout,
#: so it counts as stalled only after STALL_INTERVALS of these (30 s).
BEAT_S = 3.0
#: How long stopping waits for the queued transitions to be stored (seconds).
STOP_TIMEOUT_S = 30.0


class Recorder:
    """Drains a :class:`RecordQueue` into ``record`` on a daemon thread (``recorder``)."""

    def __init__(
        self, record: RecordFn, supervisor: Supervisor, queue: RecordQueue | None = None
    ) -> None:
        self.queue = queue or RecordQueue()
        self._record = record
        self.supervisor = supervisor
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def submit(self, update: EventUpdate) -> None:
        """Queue ``update`` for storing (the pipeline's sink; never blocks)."""
        self.queue.put(update)

    def backlog(self) -> Backlog:
        return self.queue.backlog()

    def drain(self, timeout: float) -> bool:
        """Wait until everything queued so far was stored; False after ``timeout`` seconds."""
        return self.queue.join(timeout)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        beat = self.supervisor.heartbeat("recorder", "recorder", BEAT_S)
        self._thread = threading.Thread(target=self._run, args=(beat,), name="recorder")
        self._thread.daemon = True
        self._thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Store what is queued (up to ``timeout`` seconds), then end the thread."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if not self.drain(timeout):
            log.error("recorder: %d transitions not stored at shutdown", self.backlog().depth)
        self._stop.set()
        thread.join(POLL_S * 2)

    def _run(self, beat: Heartbeat) -> None:
        try:
            while not self._stop.is_set():
                update = self.queue.get(POLL_S)
                if update is None:
                    beat.beat()
                    continue
                try:
                    self._store(update, beat)
                finally:
                    self.queue.done()
        finally:
            self.supervisor.retire(beat)

    def _store(self, update: EventUpdate, beat: Heartbeat) -> None:
        try:
            self._record(update)
        except Exception as exc:  # loop boundary: one bad transition must not end recording
            what = f"camera {update.camera_id} {update.cls} {update.transition.value}"
            beat.failed(exc, what)
        else:
            beat.ok()
