"""The bounded queue to the recorder: what gives way when it is full, and what never does."""

from __future__ import annotations

import logging

import pytest

from detector.types import EventUpdate, Transition
from service.record_queue import RecordQueue, is_essential
from tests.fixtures.app import T0, make_update


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def drain(queue: RecordQueue) -> list[EventUpdate]:
    out = []
    while (update := queue.get(0.0)) is not None:
        out.append(update)
        queue.done()
    return out


def plain(ts: float) -> EventUpdate:
    return make_update("ridge", Transition.UPDATED, ts, score=0.6, peak_score=0.9)


@pytest.mark.parametrize(
    ("transition", "is_peak", "essential"),
    [
        (Transition.OPENED, False, True),
        (Transition.CLOSED, False, True),
        (Transition.UPDATED, True, True),
        (Transition.UPDATED, False, False),
    ],
)
def test_what_is_essential(transition: Transition, is_peak: bool, essential: bool) -> None:
    assert is_essential(make_update("ridge", transition, T0, is_peak=is_peak)) is essential


def test_a_full_queue_drops_the_oldest_plain_score_points_and_keeps_every_transition(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    queue = RecordQueue(4, clock=clock)
    opened = make_update("ridge", Transition.OPENED, T0)
    peak = make_update("ridge", Transition.UPDATED, T0 + 3, is_peak=True, score=0.9)
    closed = make_update("ridge", Transition.CLOSED, T0 + 9)
    with caplog.at_level(logging.WARNING, logger="service.record_queue"):
        for update in (opened, plain(T0 + 1), plain(T0 + 2), peak):
            queue.put(update)
        clock.now += 5
        for update in (plain(T0 + 4), plain(T0 + 5), closed):
            queue.put(update)
    backlog = queue.backlog()
    assert (backlog.depth, backlog.capacity, backlog.dropped) == (4, 4, 3)
    assert backlog.oldest_age_s == 5.0
    kept = drain(queue)
    # Each put into the full queue dropped the oldest plain score point: T0+1, T0+2, T0+4.
    assert [(u.transition, u.ts) for u in kept] == [
        (Transition.OPENED, T0),
        (Transition.UPDATED, T0 + 3),
        (Transition.UPDATED, T0 + 5),
        (Transition.CLOSED, T0 + 9),
    ]
    # Logged once a minute, not once per drop.
    drops = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert len(drops) == 1 and "camera ridge" in drops[0].getMessage()
    assert queue.backlog().oldest_age_s is None


def test_transitions_are_queued_beyond_capacity_rather_than_dropped() -> None:
    queue = RecordQueue(2)
    updates = [make_update("ridge", Transition.OPENED, T0 + i, track=i) for i in range(3)]
    updates.append(plain(T0 + 5))
    for update in updates:
        queue.put(update)
    assert queue.backlog().depth == 3 and queue.backlog().dropped == 1
    assert [u.track for u in drain(queue)] == [0, 1, 2]


def test_only_snapshot_transitions_keep_their_frame_while_queued() -> None:
    queue = RecordQueue(8)
    opened = make_update("ridge", Transition.OPENED, T0)
    queue.put(opened)
    queue.put(make_update("ridge", Transition.UPDATED, T0 + 1, is_peak=True))
    queue.put(plain(T0 + 2))
    queue.put(make_update("ridge", Transition.CLOSED, T0 + 3))
    kept = drain(queue)
    assert [u.frame is not None for u in kept] == [True, True, False, False]
    assert kept[0] is opened  # the very frame the detector scored, not a copy


def test_join_waits_for_the_transition_being_handled() -> None:
    queue = RecordQueue(2)
    queue.put(plain(T0))
    taken = queue.get(0.0)
    assert taken is not None and queue.backlog().depth == 0
    assert queue.join(0.0) is False  # taken, not yet handled
    queue.done()
    assert queue.join(0.0) is True


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RecordQueue(0)
