"""What makes the running service ``degraded``: the reasons ``/healthz`` lists.

The service is degraded, still answering and still recording what it can, when

* its storage is failing or low (:mod:`store.health`);
* a supervised thread is stalled (no heartbeat for :data:`streams.supervise.STALL_INTERVALS`
  of its intervals) or failing (its last round raised, :mod:`streams.supervise`);
* the recorder's backlog holds at least :data:`BACKLOG_FRACTION` of its queue, or its oldest
  transition has waited :data:`BACKLOG_AGE_S` seconds;
* most cameras fail: more than half of the cameras that should stream are in backoff or
  reconnecting after an error.

Each reason has a stable ``code`` for monitoring and the console, and a ``detail`` in English
that names the thread or counts; it never carries an error's text (see the log for that).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from service.record_queue import Backlog
from store.health import StorageStatus
from streams.state import SourceStats, StreamState
from streams.supervise import ThreadStatus

ReasonCode = Literal[
    "storage_failing",
    "storage_low",
    "thread_stalled",
    "thread_failing",
    "recorder_backlog",
    "cameras_failing",
]
#: The recorder is behind from this share of its queue on ...
BACKLOG_FRACTION = 0.5
#: ... or when its oldest transition has waited this long (seconds).
BACKLOG_AGE_S = 30.0


@dataclass(frozen=True, slots=True)
class HealthReason:
    code: ReasonCode
    detail: str


def _storage(status: StorageStatus) -> list[HealthReason]:
    if status == "failing":
        return [HealthReason("storage_failing", "event or snapshot writes fail")]
    if status == "low":
        return [HealthReason("storage_low", "little free space left")]
    return []


def _threads(threads: Iterable[ThreadStatus]) -> list[HealthReason]:
    reasons = []
    for thread in sorted(threads, key=lambda t: t.name):
        if thread.stalled:
            detail = f"{thread.name}: no heartbeat for {thread.age_s:.0f} s"
            reasons.append(HealthReason("thread_stalled", detail))
        if thread.error is not None:
            detail = f"{thread.name}: {thread.error}"
            reasons.append(HealthReason("thread_failing", detail))
    return reasons


def _backlog(backlog: Backlog | None) -> list[HealthReason]:
    if backlog is None or backlog.depth == 0:
        return []
    age = backlog.oldest_age_s or 0.0
    if backlog.depth < BACKLOG_FRACTION * backlog.capacity and age < BACKLOG_AGE_S:
        return []
    detail = (
        f"backlog {backlog.depth} of {backlog.capacity}, the oldest waiting {age:.0f} s; "
        f"{backlog.dropped} score points dropped"
    )
    return [HealthReason("recorder_backlog", detail)]


def is_failing(stats: SourceStats) -> bool:
    """The camera waits to reconnect, or reconnects after an error."""
    return stats.state == StreamState.BACKOFF or (
        stats.state == StreamState.CONNECTING and stats.last_error is not None
    )


def _cameras(cameras: Sequence[SourceStats]) -> list[HealthReason]:
    active = [s for s in cameras if s.state != StreamState.STOPPED]
    failing = sum(is_failing(s) for s in active)
    if failing * 2 <= len(active):
        return []
    return [HealthReason("cameras_failing", f"{failing} of {len(active)} cameras failing")]


def degraded_reasons(
    *,
    storage: StorageStatus,
    threads: Iterable[ThreadStatus],
    backlog: Backlog | None,
    cameras: Sequence[SourceStats],
) -> list[HealthReason]:
    """Why the service is degraded; empty when it is not."""
    return _storage(storage) + _threads(threads) + _backlog(backlog) + _cameras(cameras)
