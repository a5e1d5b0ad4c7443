"""Which frames get analysed: one per ``interval_s`` on a fixed grid of frame timestamps."""

from __future__ import annotations

import math

# Frame timestamps of recorded clips are index * seconds_per_frame, which is not exact in binary
# floating point (3 * 0.1 = 0.30000000000000004): compare against the grid with this tolerance.
_EPS = 1e-9


class IntervalSampler:
    """Decide, frame by frame, whether a frame is due for analysis.

    The first frame is always due and anchors a grid ``t0, t0 + interval_s, t0 + 2*interval_s,
    ...``. Each later frame is due when its timestamp reaches the next grid point; the grid then
    moves to the first point after that frame, skipping points that fell in a gap of the stream,
    so a stall never causes a burst of catch-up frames and sampling never drifts.

    ``tolerance_s`` lets a frame that arrives slightly before its grid point count for it: live
    keyframes that come exactly once per interval jitter by milliseconds around the grid, and
    without a tolerance every other one would be missed.

    Works on any monotonic timestamps in seconds: wall-clock time for live cameras,
    ``index * seconds_per_frame`` for recorded clips. If time goes backwards (a wall-clock step),
    the grid is re-anchored at that frame rather than waiting for the clock to catch up.

    >>> s = IntervalSampler(1.0)
    >>> [t for t in (0.0, 0.4, 0.9, 1.0, 1.5, 3.2, 3.9, 4.1) if s.due(t)]
    [0.0, 1.0, 3.2, 4.1]
    """

    def __init__(self, interval_s: float, *, tolerance_s: float = 0.0) -> None:
        if not interval_s > 0 or not math.isfinite(interval_s):
            raise ValueError(f"interval_s must be a positive number, got {interval_s}")
        if not 0.0 <= tolerance_s < interval_s:
            raise ValueError(f"tolerance_s must be in [0, interval_s), got {tolerance_s}")
        self.interval_s = interval_s
        self.tolerance_s = tolerance_s
        self._origin: float | None = None
        self._step = 0  # next due time is origin + step * interval_s
        self._last_due: float | None = None

    @property
    def next_due(self) -> float | None:
        """Timestamp from which the next frame will be due; None before the first frame."""
        if self._origin is None:
            return None
        return self._origin + self._step * self.interval_s

    def would_take(self, ts: float) -> bool:
        """True when :meth:`due` would return True for ``ts``; changes nothing.

        Lets a decoder skip pictures that would not be analysed before paying for them.
        """
        if self._origin is None or (self._last_due is not None and ts < self._last_due):
            return True
        return ts >= self._origin + self._step * self.interval_s - self.tolerance_s - _EPS

    def due(self, ts: float) -> bool:
        """Return True when the frame at ``ts`` (seconds) should be analysed, and advance."""
        if self._origin is None or (self._last_due is not None and ts < self._last_due):
            self._origin, self._step, self._last_due = ts, 1, ts
            return True
        slack = self.tolerance_s + _EPS
        if ts < self._origin + self._step * self.interval_s - slack:
            return False
        # First grid point strictly after ts (+ slack): skip every point the stream missed.
        self._step = math.floor((ts - self._origin + slack) / self.interval_s) + 1
        self._last_due = ts
        return True

    def reset(self) -> None:
        """Forget the grid; the next frame will be due and anchor a new one."""
        self._origin = None
        self._step = 0
        self._last_due = None
