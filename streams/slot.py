"""A one-frame mailbox between a camera's decode thread and the scheduler."""

from __future__ import annotations

import threading
from collections.abc import Callable

from streams.frame import Frame


class LatestSlot:
    """Holds at most one :class:`Frame`; the producer never waits.

    ``put`` replaces whatever is there. If the replaced frame had not been taken, it counts as
    dropped: the consumer was slower than the camera's analysis interval and only the newest
    picture matters for smoke. ``take`` empties the slot; ``peek`` returns the last frame put
    even after it was taken (for ``latest.jpg``).

    Thread-safe; the lock is held only for a few attribute assignments, so a slow consumer can
    never stall a decode thread. ``notify`` (if given) is called after every put, outside the
    lock, to wake a scheduler.
    """

    def __init__(self, notify: Callable[[], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._pending: Frame | None = None
        self._last: Frame | None = None
        self._puts = 0
        self._drops = 0
        self._notify = notify

    def put(self, frame: Frame) -> None:
        """Store ``frame``, replacing (and counting as dropped) an untaken one."""
        with self._lock:
            if self._pending is not None:
                self._drops += 1
            self._pending = frame
            self._last = frame
            self._puts += 1
        if self._notify is not None:
            self._notify()

    def take(self) -> Frame | None:
        """Remove and return the waiting frame, or None when nothing new arrived."""
        with self._lock:
            frame, self._pending = self._pending, None
        return frame

    def peek(self) -> Frame | None:
        """The last frame put, whether or not it was taken; None before the first put."""
        with self._lock:
            return self._last

    @property
    def puts(self) -> int:
        """Frames put since creation."""
        with self._lock:
            return self._puts

    @property
    def dropped(self) -> int:
        """Frames overwritten before being taken."""
        with self._lock:
            return self._drops

    @property
    def has_pending(self) -> bool:
        """True when a frame waits to be taken."""
        with self._lock:
            return self._pending is not None
