"""The bounded queue between the scoring threads and the event recorder.

A scoring thread puts each event transition here and goes on at once: it never waits for the
disk or the database. :class:`service.recording.Recorder` takes them out in order on its own
thread.

When the recorder falls behind and the queue is full, something must give way, and it is
never an event's life: an ``opened``, a ``closed`` or a new peak (``is_peak``) is always
queued, even beyond ``capacity``. What goes is the oldest plain score point (an ``updated``
without a new peak: the event's latest score and regions, which the next point repeats); when
no plain point is queued, the new one itself. Every drop is counted (:meth:`backlog`) and
logged, at most once a minute.

Only the transitions that write a snapshot (``opened`` and peaks) keep their frame; the
others travel without it, so a long backlog does not hold a frame for each of them. A kept
frame travels by reference and stays alive while it waits: nothing writes into a decoded
frame's pixels (the snapshot writer draws on a copy), and a freed frame's memory is returned
only once the last reference is gone (:mod:`streams.memory`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, replace

from detector.types import EventUpdate, Transition
from streams.supervise import LOG_EVERY_S, Clock, LogLimiter

log = logging.getLogger(__name__)

#: Transitions queued before plain score points give way.
DEFAULT_CAPACITY = 256


def is_essential(update: EventUpdate) -> bool:
    """Whether ``update`` changes an event's life (opened, closed, new peak): never dropped."""
    return update.transition is not Transition.UPDATED or update.is_peak


def _travelling(update: EventUpdate) -> EventUpdate:
    """``update`` as it waits in the queue: its frame only where a snapshot will be taken."""
    if update.frame is None or update.transition is Transition.OPENED or update.is_peak:
        return update
    return replace(update, frame=None)


@dataclass(frozen=True, slots=True)
class Backlog:
    """The queue as metrics and health checks see it.

    ``depth``: transitions waiting; ``dropped``: plain score points dropped so far;
    ``oldest_age_s``: how long the oldest waiting one has waited (None when none waits).
    """

    depth: int
    capacity: int
    dropped: int
    oldest_age_s: float | None


@dataclass(frozen=True, slots=True)
class _Entry:
    queued_at: float
    update: EventUpdate


class RecordQueue:
    """FIFO of event transitions; :meth:`put` never blocks. Thread-safe."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, *, clock: Clock = time.monotonic):
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity}")
        self.capacity = capacity
        self._clock = clock
        self._items: deque[_Entry] = deque()
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)  # something to take
        self._idle = threading.Condition(self._lock)  # nothing waiting, nothing being recorded
        self._taken = 0  # taken by get() and not yet done()
        self._dropped = 0
        self._limiter = LogLimiter(LOG_EVERY_S)

    def put(self, update: EventUpdate) -> None:
        """Queue ``update``; when full, drop the oldest plain score point (see the module)."""
        entry = _Entry(self._clock(), _travelling(update))
        held: int | None = None
        with self._lock:
            dropped = None
            if len(self._items) >= self.capacity:
                dropped = self._drop_one(entry)
            if dropped is not entry:
                self._items.append(entry)
                self._ready.notify()
            if dropped is not None:
                self._dropped += 1
                held = self._limiter.allow(entry.queued_at)
            depth = len(self._items)
        if dropped is not None and held is not None:
            self._log_drop(dropped.update, depth, held)

    def _drop_one(self, incoming: _Entry) -> _Entry | None:
        """Remove and return the oldest plain score point (``incoming`` when it is the only
        one); None when every queued transition and the incoming one must be kept."""
        for index, entry in enumerate(self._items):
            if not is_essential(entry.update):
                del self._items[index]
                return entry
        return None if is_essential(incoming.update) else incoming

    def _log_drop(self, update: EventUpdate, depth: int, held: int) -> None:
        more = f"; {held} more since the last report" if held else ""
        log.warning(
            "recorder behind (%d transitions waiting): camera %s: a %s score point of %.2f "
            "was dropped%s",
            depth,
            update.camera_id,
            update.cls,
            update.score,
            more,
        )

    def get(self, timeout: float) -> EventUpdate | None:
        """The oldest waiting transition, or None after ``timeout`` seconds without one.

        Call :meth:`done` once it was handled.
        """
        with self._lock:
            if not self._items and not self._ready.wait(timeout):
                return None
            if not self._items:
                return None
            self._taken += 1
            return self._items.popleft().update

    def done(self) -> None:
        """The transition last returned by :meth:`get` was handled (stored or not)."""
        with self._lock:
            self._taken -= 1
            if not self._taken and not self._items:
                self._idle.notify_all()

    def join(self, timeout: float) -> bool:
        """Wait until every queued transition was handled; False after ``timeout`` seconds."""
        with self._lock:
            return self._idle.wait_for(lambda: not self._items and not self._taken, timeout)

    def backlog(self) -> Backlog:
        with self._lock:
            oldest = self._items[0].queued_at if self._items else None
            depth, dropped = len(self._items), self._dropped
        age = None if oldest is None else max(0.0, self._clock() - oldest)
        return Backlog(depth, self.capacity, dropped, age)
