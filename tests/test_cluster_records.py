"""The recorder's side of the bus on a real SQLite database: each message once, episodes of
different worker processes kept apart, events continued by a recorder that starts afresh, and
a dead worker's open events ended when another takes its camera."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cluster.messages import (
    HeldMessage,
    TransitionMessage,
    decode_frame,
    encode_jpeg,
    new_id,
    transition_message,
)
from cluster.metrics import BusCounters
from cluster.records import OPENING_WAIT_S, BusRecords, OpeningNotRecorded
from detector.types import Transition
from service.metrics import Metrics
from store.bus_tables import BusEpisodeRow
from store.db import init_db, make_engine
from store.events import EventStore
from tests.fixtures.app import T0, make_update

OPENED, UPDATED, CLOSED = Transition.OPENED, Transition.UPDATED, Transition.CLOSED


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    init_db(engine)
    return engine


def records(
    engine: Engine, tmp_path: Path, clock: Callable[[], float] = time.time
) -> tuple[BusRecords, EventStore]:
    """A recorder as an API replica starts it (nothing in memory)."""
    store = EventStore(engine, tmp_path / "snaps")
    metrics = Metrics()
    return BusRecords(store, metrics, BusCounters(metrics.registry), clock=clock), store


def message(
    transition: Transition,
    ts: float,
    *,
    incarnation: str = "inc-a",
    run: str = "1",
    **kw: object,
) -> TransitionMessage:
    update = make_update("ridge", transition, ts, started_at=T0, **kw)
    return transition_message(
        update, msg_id=new_id(), worker="w1", incarnation=incarnation, sent_at=ts, run=run
    )


def test_a_recorder_failing_before_its_commit_records_the_message_once_on_redelivery(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The transition and its message id commit together: a failure at the last moment (the
    process killed, the database gone) leaves neither, and the redelivery records it once."""
    import cluster.records

    rec, store = records(engine, tmp_path)
    opened = message(OPENED, T0)
    mark = cluster.records._mark_done

    def fail(*args: object) -> None:
        raise RuntimeError("the recorder dies before its commit")

    monkeypatch.setattr(cluster.records, "_mark_done", fail)
    with pytest.raises(RuntimeError):
        rec.transition(opened, None)
    assert store.list_events(limit=10) == ([], 0) and not rec.seen(opened.id)

    monkeypatch.setattr(cluster.records, "_mark_done", mark)
    again, _ = records(engine, tmp_path)  # the replica that takes over, or the same restarted
    first = again.transition(opened, None)
    assert again.transition(opened, None) is None
    (event,), total = store.list_events(limit=10)
    assert total == 1 and event.id == first and again.seen(opened.id)


def test_a_message_delivered_twice_is_recorded_once(engine: Engine, tmp_path: Path) -> None:
    rec, store = records(engine, tmp_path)
    opened = message(OPENED, T0)
    frame = decode_frame(encode_jpeg(make_update("ridge", OPENED, T0).frame), opened)  # type: ignore[arg-type]
    first = rec.transition(opened, frame)
    assert first is not None
    assert rec.transition(opened, frame) is None  # a redelivery
    (event,) = store.list_events(limit=10)[0]
    assert event.id == first and store.snapshot_path(first).read_bytes()[:2] == b"\xff\xd8"


def test_a_new_recorder_continues_the_open_event(engine: Engine, tmp_path: Path) -> None:
    rec, _ = records(engine, tmp_path)
    first = rec.transition(message(OPENED, T0), None)
    again, store = records(engine, tmp_path)  # after a restart, or on the other replica
    assert again.transition(message(UPDATED, T0 + 5, score=0.9, peak_score=0.9), None) == first
    assert again.transition(message(CLOSED, T0 + 9), None) == first
    (event,) = store.list_events(limit=10)[0]
    assert event.peak_score == 0.9 and event.ended_at == T0 + 9


def test_same_track_of_two_worker_processes_is_two_events(engine: Engine, tmp_path: Path) -> None:
    rec, _ = records(engine, tmp_path)
    a = rec.transition(message(OPENED, T0, incarnation="inc-a"), None)
    b = rec.transition(message(OPENED, T0 + 1, incarnation="inc-b"), None)
    assert a is not None and b is not None and a != b


def test_a_camera_started_again_in_one_process_numbers_its_tracks_anew(
    engine: Engine, tmp_path: Path
) -> None:
    rec, store = records(engine, tmp_path)
    first = rec.transition(message(OPENED, T0, run="1"), None)
    assert rec.transition(message(CLOSED, T0 + 5, run="1"), None) == first
    second = rec.transition(message(OPENED, T0 + 9, run="2"), None)  # track 0 again
    assert rec.transition(message(UPDATED, T0 + 12, run="2"), None) == second != first
    assert store.get_event(first).ended_at == T0 + 5  # type: ignore[arg-type]
    assert store.get_event(second).ended_at is None  # type: ignore[arg-type]
    with Session(engine) as session:  # each run's episode knows its own event
        episodes = session.scalars(select(BusEpisodeRow.event_id).order_by(BusEpisodeRow.id))
        assert list(episodes) == [first, second]


def test_a_camera_taken_over_ends_the_dead_workers_events(engine: Engine, tmp_path: Path) -> None:
    rec, store = records(engine, tmp_path)
    old = rec.transition(message(OPENED, T0, incarnation="dead"), None)
    rec.transition(message(UPDATED, T0 + 4, incarnation="dead", score=0.8, peak_score=0.8), None)
    mine = rec.transition(message(OPENED, T0 + 20, incarnation="alive"), None)
    held = HeldMessage(id=new_id(), worker="w2", incarnation="alive", camera_id="ridge",
                       sent_at=T0 + 21, since=T0 + 21)  # fmt: skip
    assert rec.held(held) == 1
    assert rec.held(held) == 0  # once
    assert old is not None and mine is not None
    assert store.get_event(old).ended_at == T0 + 4  # when it was last seen
    assert store.get_event(mine).ended_at is None  # the new holder's own event stays open


def test_an_update_delivered_before_its_opening_waits_for_it(
    engine: Engine, tmp_path: Path
) -> None:
    """The opening still in another replica's hand: the update and the close come again after
    it and continue its event, instead of opening a second one."""
    now, metrics = [T0], Metrics()
    store = EventStore(engine, tmp_path / "snaps")
    rec = BusRecords(store, metrics, BusCounters(metrics.registry), clock=lambda: now[0])
    opened, update = message(OPENED, T0), message(UPDATED, T0 + 5, score=0.9, peak_score=0.9)
    closed = message(CLOSED, T0 + 9)
    for early in (update, closed):
        with pytest.raises(OpeningNotRecorded):
            rec.transition(early, None)
    assert store.list_events(limit=10) == ([], 0) and not rec.seen(update.id)
    with pytest.raises(OpeningNotRecorded):  # delivered again: counted once
        rec.transition(update, None)
    assert metrics.registry.get_sample_value("emberwatch_bus_held_back_total") == 2
    first = rec.transition(opened, None)
    now[0] += 2.0
    assert rec.transition(update, None) == rec.transition(closed, None) == first
    (event,), total = store.list_events(limit=10)
    assert total == 1 and event.peak_score == 0.9 and event.ended_at == T0 + 9


def test_an_update_whose_opening_never_comes_opens_an_event_after_the_wait(
    engine: Engine, tmp_path: Path
) -> None:
    now = [T0]
    rec, store = records(engine, tmp_path, clock=lambda: now[0])
    update = message(UPDATED, T0 + 5, score=0.9, peak_score=0.9)
    with pytest.raises(OpeningNotRecorded):
        rec.transition(update, None)
    now[0] += OPENING_WAIT_S - 1
    with pytest.raises(OpeningNotRecorded):
        rec.transition(update, None)
    now[0] += 1
    event_id = rec.transition(update, None)
    assert event_id is not None and store.get_event(event_id).peak_score == 0.9  # type: ignore[union-attr]
