"""Capped exponential backoff for reconnecting cameras, as a pure class (times are arguments)."""

from __future__ import annotations

from collections import deque


class Backoff:
    """Delay before the next connection attempt: ``initial, 2*initial, 4*initial, ... max``.

    The delay resets to ``initial`` once a connection has stayed up for ``stable_s`` seconds,
    so a camera that drops once a day reconnects after 1 s, while one that flaps every few
    seconds is retried ever less often (up to ``max_s``). No clock is read here: callers pass
    monotonic seconds, which keeps the class testable with plain numbers.

    >>> b = Backoff(1.0, 30.0)
    >>> [b.failure(now=0.0) for _ in range(7)]
    [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    """

    def __init__(self, initial_s: float, max_s: float, *, stable_s: float | None = None) -> None:
        if initial_s <= 0 or max_s < initial_s:
            raise ValueError(f"backoff needs 0 < initial_s <= max_s, got {initial_s}, {max_s}")
        self.initial_s = initial_s
        self.max_s = max_s
        # Stable for as long as the longest wait: a link that survives that long is healthy.
        self.stable_s = max_s if stable_s is None else stable_s
        self._attempt = 0
        self._connected_at: float | None = None

    @property
    def attempt(self) -> int:
        """Consecutive failures since the last reset."""
        return self._attempt

    def connected(self, now: float) -> None:
        """Record a successful connection at ``now`` (monotonic seconds)."""
        self._connected_at = now

    def failure(self, now: float) -> float:
        """Record a failure at ``now``; return the seconds to wait before the next attempt."""
        if self._connected_at is not None and now - self._connected_at >= self.stable_s:
            self._attempt = 0
        self._connected_at = None
        delay = min(self.max_s, self.initial_s * 2.0**self._attempt)
        # Stop growing the exponent once capped so it cannot overflow after days of failures.
        if delay < self.max_s:
            self._attempt += 1
        return delay

    def reset(self) -> None:
        """Forget past failures."""
        self._attempt = 0
        self._connected_at = None


class EventWindow:
    """Counts events (e.g. reconnects) that happened within the last ``window_s`` seconds."""

    def __init__(self, window_s: float) -> None:
        if window_s <= 0:
            raise ValueError(f"window_s must be > 0, got {window_s}")
        self.window_s = window_s
        self._times: deque[float] = deque()

    def add(self, now: float) -> None:
        """Record one event at ``now`` (monotonic seconds)."""
        self._times.append(now)
        self._trim(now)

    def count(self, now: float) -> int:
        """Events in ``(now - window_s, now]``."""
        self._trim(now)
        return len(self._times)

    def _trim(self, now: float) -> None:
        while self._times and self._times[0] <= now - self.window_s:
            self._times.popleft()
