"""Stream lifecycle table and capped exponential backoff."""

from __future__ import annotations

import pytest

from streams.backoff import Backoff, EventWindow
from streams.state import (
    ALLOWED_TRANSITIONS,
    InvalidTransition,
    SourceStats,
    StreamState,
    check_transition,
)

S = StreamState

ALLOWED = [
    (S.CONNECTING, S.STREAMING),
    (S.CONNECTING, S.BACKOFF),
    (S.CONNECTING, S.STOPPED),
    (S.STREAMING, S.BACKOFF),
    (S.STREAMING, S.CONNECTING),
    (S.STREAMING, S.STOPPED),
    (S.BACKOFF, S.CONNECTING),
    (S.BACKOFF, S.STOPPED),
]


@pytest.mark.parametrize(("old", "new"), ALLOWED)
def test_allowed_transitions(old: StreamState, new: StreamState) -> None:
    check_transition(old, new)


@pytest.mark.parametrize(
    ("old", "new"),
    [(o, n) for o in S for n in S if (o, n) not in ALLOWED],
)
def test_invalid_transitions_raise(old: StreamState, new: StreamState) -> None:
    with pytest.raises(InvalidTransition, match=f"from {old.value} to {new.value}"):
        check_transition(old, new)


def test_table_covers_every_state_and_stopped_is_final() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(S)
    assert ALLOWED_TRANSITIONS[S.STOPPED] == frozenset()


def test_state_values_are_lowercase_strings() -> None:
    assert [str(s) for s in S] == ["connecting", "streaming", "backoff", "stopped"]


def test_source_stats_is_frozen() -> None:
    stats = SourceStats(camera_id="c", state=S.CONNECTING, url="rtsp://h/x")
    with pytest.raises(AttributeError):
        stats.decoded = 3  # type: ignore[misc]


def test_backoff_doubles_up_to_the_cap() -> None:
    b = Backoff(1.0, 30.0)
    assert [b.failure(now=float(i)) for i in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_backoff_resets_after_a_stable_connection() -> None:
    b = Backoff(0.5, 8.0, stable_s=10.0)
    assert [b.failure(now=0.0) for _ in range(3)] == [0.5, 1.0, 2.0]
    b.connected(now=100.0)
    assert b.failure(now=105.0) == 4.0  # up only 5 s: still flapping
    b.connected(now=200.0)
    assert b.failure(now=210.0) == 0.5  # up 10 s: healthy again
    assert b.attempt == 1


def test_backoff_reset_and_validation() -> None:
    b = Backoff(2.0, 3.0)
    assert [b.failure(0.0), b.failure(0.0), b.failure(0.0)] == [2.0, 3.0, 3.0]
    b.reset()
    assert b.failure(0.0) == 2.0
    with pytest.raises(ValueError):
        Backoff(0.0, 1.0)
    with pytest.raises(ValueError):
        Backoff(5.0, 1.0)


def test_event_window_counts_recent_events_only() -> None:
    w = EventWindow(60.0)
    for t in (0.0, 10.0, 50.0):
        w.add(t)
    assert w.count(55.0) == 3
    assert w.count(65.0) == 2
    assert w.count(200.0) == 0
