"""Rendered answers of a hot read endpoint, reused until the data behind them changes.

Fifty consoles polling ``GET /api/events`` mostly ask the same first page between two changes.
Each answer is rendered once (queries and JSON) and handed to every caller that asks with the
same query while the store's :attr:`~store.events.EventStore.generation` stays the same. Changes
made by another process on the same database (a second API replica, a command-line tool) do
not move this process's generation, so an entry also expires after ``max_age_s``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class _Entry:
    generation: int
    rendered_at: float
    body: bytes


class RenderedPages:
    """A small thread-safe LRU of rendered bodies keyed by the request's query.

    >>> generation = [0]
    >>> pages = RenderedPages(lambda: generation[0], clock=lambda: 0.0)
    >>> pages.get("q", lambda: b"first")
    b'first'
    >>> pages.get("q", lambda: b"second")  # nothing changed: the same body
    b'first'
    >>> generation[0] += 1
    >>> pages.get("q", lambda: b"third")
    b'third'
    """

    def __init__(
        self,
        generation: Callable[[], int],
        *,
        max_age_s: float = 1.0,
        size: int = 64,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._generation = generation
        self._max_age_s = max_age_s
        self._size = size
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def _current(self, entry: _Entry, generation: int, now: float) -> bool:
        return entry.generation == generation and now - entry.rendered_at < self._max_age_s

    def get(self, key: str, render: Callable[[], bytes]) -> bytes:
        """The body for ``key``: the kept one while still current, else ``render()``'s."""
        generation, now = self._generation(), self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry and self._current(entry, generation, now):
                self._entries.move_to_end(key)
                return entry.body
        # Rendered outside the lock; the generation read before it marks the entry stale if a
        # change lands while rendering.
        body = render()
        with self._lock:
            self._entries[key] = _Entry(generation, now, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return body
