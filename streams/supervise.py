"""Supervision of long-lived threads: heartbeats, counted errors and stall detection.

Each long-lived thread (a camera's decoder, a scoring thread, the event recorder, the alert
sender) takes a :class:`Heartbeat` from the service's :class:`Supervisor`. The thread beats
every time its loop comes round. An exception caught at its loop boundary goes to
:meth:`Heartbeat.failed`: it is logged with what the thread was working on (a camera, an
event), counted per kind of thread, and the thread carries on with its next round. Logging is
rate-limited per thread, so a loop that fails on every round cannot flood the log.

A thread is *failing* from a failed round until a round succeeds, and *stalled* when its last
beat is older than :data:`STALL_INTERVALS` times its expected interval (a planned wait, such
as a camera's reconnect backoff, is announced with :meth:`Heartbeat.waiting` and does not
count). Time comes from the clock given to the supervisor (tests pass a fake).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: A thread is stalled after this many of its intervals without a beat.
STALL_INTERVALS = 10
#: After a logged error of a thread, its next errors are logged at most this often (seconds).
LOG_EVERY_S = 60.0

Clock = Callable[[], float]


class LogLimiter:
    """Lets a repeated log line through at most once per ``every_s``; counts the others.

    >>> limiter = LogLimiter(60.0)
    >>> limiter.allow(0.0), limiter.allow(1.0), limiter.allow(61.0)
    (0, None, 1)
    """

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self._last: float | None = None
        self._held = 0

    def allow(self, now: float) -> int | None:
        """None to stay quiet; else how many lines were held back since the last one."""
        if self._last is not None and now - self._last < self.every_s:
            self._held += 1
            return None
        held, self._last, self._held = self._held, now, 0
        return held


@dataclass(frozen=True, slots=True)
class ThreadStatus:
    """One supervised thread as health checks and metrics see it.

    ``age_s``: seconds since its last beat. ``error``: what failed and the exception's type
    while it is failing (a round failed and none succeeded since), else None.
    """

    name: str
    kind: str
    age_s: float
    stalled: bool
    error: str | None


class Heartbeat:
    """The heartbeat of one thread; thread-safe. Its errors are counted by ``owner``, which
    watches it once :meth:`Supervisor.watch` was called (:meth:`Supervisor.heartbeat` does)."""

    def __init__(self, name: str, kind: str, interval_s: float, owner: Supervisor) -> None:
        self.name, self.kind, self.interval_s = name, kind, interval_s
        self._owner = owner
        self._lock = threading.Lock()
        self._last = owner.clock()
        self._quiet_until = self._last
        self._error: str | None = None
        self._limiter = LogLimiter(LOG_EVERY_S)

    def beat(self) -> None:
        """The loop came round (its previous round, if it failed, still counts as failing)."""
        with self._lock:
            self._last = self._owner.clock()

    def ok(self) -> None:
        """A round succeeded: beat, and the thread is no longer failing."""
        with self._lock:
            self._last = self._owner.clock()
            self._error = None

    def waiting(self, seconds: float) -> None:
        """Beat, and announce a planned wait of ``seconds`` that is not a stall."""
        with self._lock:
            self._last = self._owner.clock()
            self._quiet_until = self._last + seconds

    def failed(self, exc: BaseException, context: str, *, detail: str | None = None) -> None:
        """A round failed with ``exc`` while working on ``context`` (e.g. "camera ridge").

        ``detail``: the error as it may be shown (credentials redacted); when given, it
        replaces the exception's own text and the traceback is not logged.
        """
        text = detail if detail is not None else f"{type(exc).__name__}: {exc}"
        now = self._owner.clock()
        with self._lock:
            # Shown by health checks: the exception's type only, its text may name internals.
            self._last, self._error = now, f"{context} ({type(exc).__name__})"
            held = self._limiter.allow(now)
        self._owner.count_error(self.kind)
        if held is None:
            return
        more = f" ({held} more errors since the last report)" if held else ""
        trace = exc if detail is None else None
        log.error(
            "%s thread %s: %s failed: %s%s", self.kind, self.name, context, text, more,
            exc_info=trace,
        )  # fmt: skip

    def status(self, now: float, stall_intervals: int) -> ThreadStatus:
        with self._lock:
            age = max(0.0, now - self._last)
            stalled = now - max(self._last, self._quiet_until) > stall_intervals * self.interval_s
            return ThreadStatus(self.name, self.kind, age, stalled, self._error)


class Supervisor:
    """The heartbeats of a service's threads and its error counts per kind of thread."""

    def __init__(self, *, clock: Clock = time.monotonic, stall_intervals: int = STALL_INTERVALS):
        self.clock = clock
        self.stall_intervals = stall_intervals
        self._lock = threading.Lock()
        self._beats: dict[int, Heartbeat] = {}
        self._errors: dict[str, int] = {}

    def heartbeat(self, name: str, kind: str, interval_s: float) -> Heartbeat:
        """A watched heartbeat for a new thread, expected to beat every ``interval_s`` s."""
        beat = Heartbeat(name, kind, interval_s, self)
        self.watch(beat)
        return beat

    def watch(self, beat: Heartbeat) -> None:
        """Watch ``beat`` (made earlier, e.g. before its thread started) from now on."""
        beat.beat()
        with self._lock:
            self._beats[id(beat)] = beat
            self._errors.setdefault(beat.kind, 0)

    def retire(self, beat: Heartbeat) -> None:
        """The thread ended on purpose: no longer watched (its errors stay counted)."""
        with self._lock:
            self._beats.pop(id(beat), None)

    def count_error(self, kind: str) -> None:
        with self._lock:
            self._errors[kind] = self._errors.get(kind, 0) + 1

    def errors(self) -> dict[str, int]:
        """Errors caught so far per kind of thread (kinds seen without errors have 0)."""
        with self._lock:
            return dict(self._errors)

    def statuses(self) -> list[ThreadStatus]:
        now = self.clock()
        with self._lock:
            beats = list(self._beats.values())
        return [beat.status(now, self.stall_intervals) for beat in beats]
