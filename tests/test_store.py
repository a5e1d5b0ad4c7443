"""EventStore against a real SQLite file and real snapshot files."""

from __future__ import annotations

import itertools
import logging
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import Engine, event, inspect, select

from detector.types import Region, Transition
from store.db import EventRow, EventStatus, SnapshotKind, SnapshotRow, init_db, make_engine
from store.events import (
    Decision,
    EventAlreadyDecided,
    EventChange,
    EventNotFound,
    EventStore,
    SnapshotNotFound,
)
from tests.fixtures.app import T0, make_update

OPENED, UPDATED, CLOSED = Transition.OPENED, Transition.UPDATED, Transition.CLOSED


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    eng = make_engine(f"sqlite:///{tmp_path / 'db' / 'events.db'}")
    init_db(eng)
    return eng


@pytest.fixture
def store(engine: Engine, tmp_path: Path) -> EventStore:
    return EventStore(engine, tmp_path / "snaps", camera_names={"ridge": "Ridge North"})


def _files(store: EventStore, event_id: int, kind: SnapshotKind) -> tuple[Path, Path]:
    snap = store.get_event(event_id).snapshot(kind)
    assert snap is not None
    root = store.snapshots.root
    return root / snap.path_annotated, root / snap.path_clean


def test_engine_uses_wal_and_foreign_keys(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert set(inspect(engine).get_table_names()) >= {"events", "snapshots", "event_scores"}


def test_open_update_peak_close(store: EventStore) -> None:
    event_id = store.apply(make_update("ridge", OPENED, T0, score=0.6))
    assert event_id is not None
    ev = store.get_event(event_id)
    assert (ev.camera_id, ev.camera_name, ev.cls, ev.status) == (
        "ridge",
        "Ridge North",
        "smoke",
        "open",
    )
    assert ev.active and ev.started_at == T0 and ev.peak_score == pytest.approx(0.6)
    assert [s.kind for s in ev.snapshots] == [SnapshotKind.OPENED]
    opened = _files(store, event_id, SnapshotKind.OPENED)
    assert all(p.is_file() for p in opened)
    assert opened[0].parent == store.snapshots.root / "ridge" / "2026-06-01"

    assert store.apply(make_update("ridge", UPDATED, T0 + 10, score=0.8, is_peak=True)) == event_id
    first_peak = _files(store, event_id, SnapshotKind.PEAK)
    assert store.apply(make_update("ridge", UPDATED, T0 + 20, score=0.9, is_peak=True)) == event_id
    second_peak = _files(store, event_id, SnapshotKind.PEAK)
    assert second_peak != first_peak
    assert all(p.is_file() for p in second_peak)
    assert not any(p.exists() for p in first_peak), "a replaced peak snapshot is deleted"

    assert store.apply(make_update("ridge", CLOSED, T0 + 90, score=0.3, frame=None)) == event_id
    ev = store.get_event(event_id)
    assert not ev.active and ev.ended_at == T0 + 90
    assert ev.last_seen_at == T0 + 20 and ev.peak_score == pytest.approx(0.9)
    assert sorted(s.kind for s in ev.snapshots) == ["opened", "peak"]
    assert [(p.ts, p.score) for p in ev.timeline] == [
        (T0, 0.6), (T0 + 10, 0.8), (T0 + 20, 0.9), (T0 + 90, 0.3)
    ]  # fmt: skip
    assert all(p.is_file() for p in opened), "the opening snapshot is kept"


def test_snapshot_file_exists_before_its_row(store: EventStore) -> None:
    seen: list[tuple[str, bool]] = []

    def check(_mapper: object, _conn: object, row: SnapshotRow) -> None:
        root = store.snapshots.root
        ok = (root / row.path_annotated).is_file() and (root / row.path_clean).is_file()
        seen.append((row.kind, ok))

    event.listen(SnapshotRow, "before_insert", check)
    event.listen(SnapshotRow, "before_update", check)
    try:
        store.apply(make_update("ridge", OPENED, T0))
        store.apply(make_update("ridge", UPDATED, T0 + 5, score=0.8, is_peak=True))
        store.apply(make_update("ridge", UPDATED, T0 + 9, score=0.9, is_peak=True))
    finally:
        event.remove(SnapshotRow, "before_insert", check)
        event.remove(SnapshotRow, "before_update", check)
    assert seen == [("opened", True), ("peak", True), ("peak", True)]


def test_snapshot_write_failure_keeps_the_event(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the snapshot directory should be")
    store = EventStore(engine, blocker / "snaps")
    with caplog.at_level(logging.ERROR):
        event_id = store.apply(make_update("ridge", OPENED, T0))
    assert event_id is not None
    assert store.get_event(event_id).snapshots == ()
    assert any("camera ridge" in r.getMessage() for r in caplog.records)
    with pytest.raises(SnapshotNotFound):
        store.snapshot_path(event_id)
    # Later updates keep working and the episode is still tracked.
    assert store.apply(make_update("ridge", UPDATED, T0 + 5, score=0.9, is_peak=True)) == event_id
    assert store.get_event(event_id).peak_score == pytest.approx(0.9)


def test_peak_snapshot_failure_keeps_stored_rows(store: EventStore, tmp_path: Path) -> None:
    event_id = store.apply(make_update("ridge", OPENED, T0))
    assert event_id is not None
    good_root = store.snapshots.root
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a directory is needed: every write fails")
    store.snapshots.root = blocker / "snaps"
    assert store.apply(make_update("ridge", UPDATED, T0 + 5, score=0.95, is_peak=True)) == event_id
    store.snapshots.root = good_root
    ev = store.get_event(event_id)
    assert ev.peak_score == pytest.approx(0.95) and ev.last_seen_at == T0 + 5
    assert [s.kind for s in ev.snapshots] == [SnapshotKind.OPENED]
    assert store.snapshot_path(event_id).is_file()


def test_database_error_is_logged_not_raised(
    store: EventStore, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    kept = store.apply(make_update("valley", OPENED, T0))
    SnapshotRow.__table__.drop(engine)  # type: ignore[attr-defined]
    with caplog.at_level(logging.ERROR):
        assert store.apply(make_update("ridge", OPENED, T0 + 1)) is None
    assert any("camera ridge" in r.getMessage() for r in caplog.records)
    # The failed insert removed the snapshot files it had written; nothing else was touched.
    assert not list((store.snapshots.root / "ridge").rglob("*.jpg"))
    with engine.connect() as conn:
        assert conn.execute(select(EventRow.id)).scalars().all() == [kept]


def test_unknown_episode_update_opens_and_close_is_ignored(store: EventStore) -> None:
    assert store.apply(make_update("ridge", CLOSED, T0, frame=None)) is None
    event_id = store.apply(make_update("ridge", UPDATED, T0 + 3, started_at=T0, score=0.8))
    assert event_id is not None
    ev = store.get_event(event_id)
    assert ev.active and ev.started_at == T0 and ev.snapshot(SnapshotKind.OPENED) is not None
    assert store.apply(make_update("ridge", UPDATED, T0 + 6)) == event_id


def test_opened_twice_ends_the_previous_event(store: EventStore) -> None:
    first = store.apply(make_update("ridge", OPENED, T0))
    store.apply(make_update("ridge", UPDATED, T0 + 4))
    second = store.apply(make_update("ridge", OPENED, T0 + 8))
    assert first is not None and second is not None and first != second
    assert store.get_event(first).ended_at == T0 + 4
    assert store.get_event(second).active


def test_classes_and_cameras_are_separate_episodes(store: EventStore) -> None:
    a = store.apply(make_update("ridge", OPENED, T0))
    b = store.apply(make_update("ridge", OPENED, T0, cls="flame"))
    c = store.apply(make_update("valley", OPENED, T0))
    assert len({a, b, c}) == 3
    store.apply(make_update("ridge", CLOSED, T0 + 9, cls="flame", frame=None))
    assert b is not None and not store.get_event(b).active
    assert a is not None and store.get_event(a).active
    assert store.get_event(c or 0).camera_name == "valley"  # no display name configured


def test_close_stale_after_restart(engine: Engine, tmp_path: Path) -> None:
    before = EventStore(engine, tmp_path / "snaps")
    stale = before.apply(make_update("ridge", OPENED, T0))
    before.apply(make_update("ridge", UPDATED, T0 + 30))
    done = before.apply(make_update("valley", OPENED, T0))
    before.apply(make_update("valley", CLOSED, T0 + 50, frame=None))
    assert stale is not None and done is not None

    after = EventStore(engine, tmp_path / "snaps")  # a new process
    live = after.apply(make_update("ridge", OPENED, T0 + 100, cls="flame"))
    assert after.close_stale() == 1
    assert after.get_event(stale).ended_at == T0 + 30
    assert after.get_event(done).ended_at == T0 + 50
    assert live is not None and after.get_event(live).active, "own open episodes stay open"
    assert after.close_stale() == 0
    assert after.decide(stale, Decision.CONFIRM, "ana").status is EventStatus.CONFIRMED


def test_decide_rules(store: EventStore) -> None:
    times = itertools.count(1000.0, 1000.0)
    store = EventStore(store.engine, store.snapshots.root, clock=lambda: next(times))
    a = store.apply(make_update("ridge", OPENED, T0))
    b = store.apply(make_update("valley", OPENED, T0))
    assert a is not None and b is not None
    store.apply(make_update("valley", CLOSED, T0 + 5, frame=None))

    ev = store.decide(a, Decision.CONFIRM, "ana", "plume behind the ridge")
    assert (ev.status, ev.operator, ev.note, ev.decided_at) == (
        EventStatus.CONFIRMED, "ana", "plume behind the ridge", 3000.0,
    )  # fmt: skip
    with pytest.raises(EventAlreadyDecided, match="already confirmed by ana") as err:
        store.decide(a, Decision.DISMISS, "bo")
    assert err.value.event.status is EventStatus.CONFIRMED
    with pytest.raises(EventAlreadyDecided):
        store.decide(a, Decision.CONFIRM, "bo")
    assert store.get_event(a).operator == "ana"

    assert store.decide(b, Decision.DISMISS, "bo").status is EventStatus.DISMISSED  # closed: ok
    with pytest.raises(EventNotFound, match="event 999 does not exist"):
        store.decide(999, Decision.CONFIRM, "ana")
    with pytest.raises(EventNotFound):
        store.get_event(999)


def test_decided_event_keeps_receiving_updates(store: EventStore) -> None:
    event_id = store.apply(make_update("ridge", OPENED, T0))
    assert event_id is not None
    store.decide(event_id, Decision.CONFIRM, "ana")
    store.apply(make_update("ridge", UPDATED, T0 + 5, score=0.9, is_peak=True))
    ev = store.get_event(event_id)
    assert ev.status is EventStatus.CONFIRMED and ev.peak_score == pytest.approx(0.9)


def _seed(store: EventStore) -> dict[str, int]:
    ids = {}
    for i, (cam, cls) in enumerate([("ridge", "smoke"), ("ridge", "flame"), ("valley", "smoke")]):
        event_id = store.apply(make_update(cam, OPENED, T0 + 100 * i, cls=cls))
        assert event_id is not None
        ids[f"{cam}/{cls}"] = event_id
    store.apply(make_update("ridge", CLOSED, T0 + 150, cls="flame", frame=None))
    store.decide(ids["valley/smoke"], Decision.DISMISS, "ana")
    return ids


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["valley/smoke", "ridge/flame", "ridge/smoke"]),
        ({"camera": "ridge"}, ["ridge/flame", "ridge/smoke"]),
        ({"cls": "smoke"}, ["valley/smoke", "ridge/smoke"]),
        ({"status": EventStatus.DISMISSED}, ["valley/smoke"]),
        ({"status": EventStatus.OPEN, "camera": "ridge"}, ["ridge/flame", "ridge/smoke"]),
        ({"since": T0 + 100}, ["valley/smoke", "ridge/flame"]),
        ({"until": T0 + 100}, ["ridge/smoke"]),
        ({"since": T0 + 50, "until": T0 + 150}, ["ridge/flame"]),
        ({"active": False}, ["ridge/flame"]),
        ({"active": True}, ["valley/smoke", "ridge/smoke"]),
        ({"camera": "nowhere"}, []),
    ],
)
def test_list_filters(store: EventStore, filters: dict[str, object], expected: list[str]) -> None:
    from store.events import EventFilter

    ids = _seed(store)
    items, total = store.list_events(EventFilter(**filters))  # type: ignore[arg-type]
    assert [i.id for i in items] == [ids[k] for k in expected]
    assert total == len(expected)


def test_list_pagination(store: EventStore) -> None:
    ids = [store.apply(make_update(f"cam{i}", OPENED, T0 + i)) for i in range(7)]
    page, total = store.list_events(limit=3, offset=3)
    assert total == 7
    assert [e.id for e in page] == list(reversed(ids))[3:6]
    assert store.list_events(limit=3, offset=7) == ([], 7)


def test_snapshot_path_kinds(store: EventStore) -> None:
    event_id = store.apply(make_update("ridge", OPENED, T0))
    assert event_id is not None
    opened = store.snapshot_path(event_id)
    assert opened == store.snapshot_path(event_id, SnapshotKind.OPENED)
    assert store.snapshot_path(event_id, SnapshotKind.PEAK) == opened  # the peak so far
    bare = store.apply(make_update("valley", OPENED, T0, frame=None))
    with pytest.raises(SnapshotNotFound, match="no peak snapshot"):
        store.snapshot_path(bare or 0, SnapshotKind.PEAK)
    store.apply(make_update("ridge", UPDATED, T0 + 5, score=0.9, is_peak=True))
    peak = store.snapshot_path(event_id)
    assert peak == store.snapshot_path(event_id, SnapshotKind.PEAK) != opened
    clean = store.snapshot_path(event_id, clean=True)
    assert clean.name.endswith("_clean.jpg") and clean.parent == peak.parent
    a, c = (cv2.imread(str(p)) for p in (peak, clean))
    assert a is not None and c is not None and a.shape == c.shape
    assert np.abs(a.astype(int) - c.astype(int)).max() > 100, "boxes are drawn on one only"
    peak.unlink()
    with pytest.raises(SnapshotNotFound, match="missing"):
        store.snapshot_path(event_id)
    with pytest.raises(EventNotFound):
        store.snapshot_path(12345)


def test_regions_round_trip(store: EventStore) -> None:
    regions = (Region("smoke", 0.5, (0.1, 0.2, 0.3, 0.4)), Region("smoke", 0.9, (0.5, 0.5, 1, 1)))
    event_id = store.apply(make_update("ridge", OPENED, T0, regions=regions))
    assert event_id is not None
    ev = store.get_event(event_id)
    assert ev.regions == regions
    assert ev.snapshots[0].regions == regions


def test_listeners_hear_commits_and_a_faulty_one_is_contained(store: EventStore) -> None:
    heard: list[EventChange] = []

    def broken(_change: EventChange) -> None:
        raise RuntimeError("listener bug")

    store.add_listener(broken)
    store.add_listener(heard.append)
    event_id = store.apply(make_update("ridge", OPENED, T0))
    assert event_id is not None
    store.decide(event_id, Decision.DISMISS, "ana")
    assert [(c.event_id, c.change) for c in heard] == [(event_id, "opened"), (event_id, "dismiss")]


def test_concurrent_writers(store: EventStore) -> None:
    """The scheduler thread and HTTP handlers write at the same time without losing rows."""
    errors: list[BaseException] = []

    def camera(cam: str) -> None:
        try:
            for k in range(5):
                event_id = store.apply(make_update(cam, OPENED, T0 + 10 * k, frame=None))
                assert event_id is not None
                store.apply(make_update(cam, UPDATED, T0 + 10 * k + 1, frame=None))
                store.decide(event_id, Decision.CONFIRM, cam)
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=camera, args=(f"c{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    items, total = store.list_events(limit=500)
    assert total == 20 and all(e.status is EventStatus.CONFIRMED for e in items)


def test_renamed_camera_applies_to_new_events(store: EventStore) -> None:
    first = store.apply(make_update("ridge", OPENED, T0))
    store.set_camera_name("ridge", "Ridge North (new mast)")
    store.apply(make_update("ridge", CLOSED, T0 + 5, frame=None))
    second = store.apply(make_update("ridge", OPENED, T0 + 10))
    assert first is not None and second is not None
    assert store.get_event(first).camera_name == "Ridge North"
    assert store.get_event(second).camera_name == "Ridge North (new mast)"


def test_a_steady_detection_keeps_moving_and_a_restart_ends_it_when_last_seen(
    engine: Engine, tmp_path: Path
) -> None:
    """The smoother's updates for a plume that holds steady, stored as the pipeline does, then
    the process stops while the event is active."""
    from detector.config import SmoothingConfig
    from detector.smoothing import CameraSmoother

    cfg = SmoothingConfig(tau_s=1.0, min_persistence_s=10, keepalive_s=30, baseline_tau_s=None)
    smoother = CameraSmoother("ridge", ("smoke",), {"smoke": 0.5}, cfg)
    before = EventStore(engine, tmp_path / "snaps")
    seen = []
    for ts in range(0, 305, 5):
        for update in smoother.update_scores(T0 + ts, {"smoke": 0.9}):
            event_id = before.apply(update)
        if ts >= 10:
            assert event_id is not None
            seen.append(before.get_event(event_id).last_seen_at - T0)
    assert seen[-1] >= 300 - 30, "last seen keeps moving while the score holds"
    assert seen == sorted(seen) and len(set(seen)) > 5

    after = EventStore(engine, tmp_path / "snaps")  # a new process
    assert after.close_stale() == 1
    ended = after.get_event(event_id).ended_at
    assert ended is not None and T0 + 300 - 30 <= ended <= T0 + 300
