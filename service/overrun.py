"""Analysis-interval overrun: say so when a streaming camera is not analysed often enough.

Under overload the scheduler serves every camera less often (fair degradation). That is the
right thing to do, but it must never happen silently: a camera whose last analysis is more than
``OVERRUN_FACTOR`` times its interval ago, while its stream delivers frames, is *behind*. Each
episode is logged once when it starts and once when it ends, counted, and shown in
``/api/cameras`` and ``/metrics``.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

# Twice the interval: one missed analysis can be jitter (keyframes arrive once per GOP, a batch
# waits a little); two in a row means the service cannot keep up.
OVERRUN_FACTOR = 2.0


class OverrunWatch:
    """Tracks one camera's time since its last analysis. Times are ``time.monotonic()`` seconds.

    Pure bookkeeping: the caller passes the clock and whether the stream is delivering, so the
    rules are testable without threads. Not thread-safe; the pipeline calls it under its lock.

    >>> w = OverrunWatch("cam", interval_s=10.0)
    >>> w.check(100.0, streaming=True), w.check(125.0, streaming=True), w.episodes
    (False, True, 1)
    >>> w.analysed(126.0); w.check(127.0, streaming=True)
    False
    """

    def __init__(self, camera_id: str, interval_s: float, factor: float = OVERRUN_FACTOR) -> None:
        self.camera_id = camera_id
        self.limit_s = factor * interval_s
        self.interval_s = interval_s
        self.last_analysed: float | None = None
        self.behind = False
        self.episodes = 0
        self._since: float | None = None  # when the stream (re)started delivering
        self._behind_since = 0.0

    def analysed(self, now: float) -> None:
        """A frame of this camera was scored at ``now``; ends an episode."""
        self.last_analysed = now
        if self.behind:
            self._end(now, "caught up")

    def check(self, now: float, *, streaming: bool) -> bool:
        """Update and return ``behind`` at ``now``.

        A camera that is not streaming is never behind (its stream state already tells why it
        is not analysed); the watch restarts when it streams again.
        """
        if not streaming:
            self._since = None
            if self.behind:
                self._end(now, "stream stopped delivering")
            return False
        if self._since is None:
            self._since = now
        reference = max(self._since, self.last_analysed or self._since)
        if not self.behind and now - reference > self.limit_s:
            self.behind = True
            self.episodes += 1
            self._behind_since = reference
            log.warning(
                "camera %s: analysis is behind: not analysed for %.1f s (interval %.1f s); "
                "the detector cannot keep up with every camera",
                self.camera_id,
                now - reference,
                self.interval_s,
            )
        return self.behind

    def age(self, now: float) -> float | None:
        """Seconds since the last analysis, None before the first."""
        return None if self.last_analysed is None else max(0.0, now - self.last_analysed)

    def _end(self, now: float, why: str) -> None:
        self.behind = False
        log.info(
            "camera %s: analysis no longer behind (%s) after %.1f s",
            self.camera_id,
            why,
            now - self._behind_since,
        )
