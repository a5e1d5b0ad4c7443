"""Events per region: several episodes of one class on one camera are separate events, and an
episode that continues another one, or re-alerts a dismissed one, is linked to its event."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import Engine

from detector.types import Reason, Region, Transition
from store.db import init_db, make_engine
from store.events import Decision, EventFilter, EventStore
from tests.fixtures.app import T0, make_update

OPENED, UPDATED, CLOSED = Transition.OPENED, Transition.UPDATED, Transition.CLOSED
HAZE = Region("smoke", 0.8, (0.0, 0.30, 1.0, 0.40))
PLUME = Region("smoke", 0.7, (0.60, 0.45, 0.70, 0.60))


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    eng = make_engine(f"sqlite:///{tmp_path / 'events.db'}")
    init_db(eng)
    return eng


@pytest.fixture
def store(engine: Engine, tmp_path: Path) -> EventStore:
    return EventStore(engine, tmp_path / "snaps")


def test_two_tracks_of_one_class_on_one_camera_are_two_events(store: EventStore) -> None:
    haze = store.apply(make_update("ridge", OPENED, T0, track=1, box=HAZE.box, regions=(HAZE,)))
    plume = store.apply(
        make_update("ridge", OPENED, T0 + 600, track=2, box=PLUME.box, regions=(PLUME,))
    )
    assert haze is not None and plume is not None and haze != plume
    # Each later transition goes to its own episode's event.
    wider = (0.55, 0.40, 0.72, 0.60)
    assert store.apply(make_update("ridge", UPDATED, T0 + 620, track=2, box=wider)) == plume
    assert store.apply(make_update("ridge", CLOSED, T0 + 700, track=1, frame=None)) == haze
    events = {e.id: e for e in store.list_events(EventFilter(camera="ridge"))[0]}
    assert len(events) == 2
    assert (events[haze].box, events[haze].active) == (HAZE.box, False)
    assert (events[plume].box, events[plume].active) == (wider, True)


def test_a_grown_episode_links_to_the_event_it_continues(store: EventStore) -> None:
    first = store.apply(make_update("ridge", OPENED, T0, track=3, box=PLUME.box))
    store.apply(make_update("ridge", CLOSED, T0 + 60, track=3, reason=Reason.CONTINUED))
    grown = store.apply(
        make_update("ridge", OPENED, T0 + 60, track=4, parent_track=3, reason=Reason.GREW)
    )
    assert grown is not None
    child = store.get_event(grown)
    assert (child.parent_id, child.reason, child.parent_status) == (first, Reason.GREW, "open")
    assert store.get_event(first).reason is Reason.NONE  # a close does not rewrite it


def test_a_re_alert_links_to_the_dismissed_event(store: EventStore) -> None:
    dismissed = store.apply(make_update("ridge", OPENED, T0, track=1))
    assert dismissed is not None
    store.decide(dismissed, Decision.DISMISS, "ana")
    update = make_update(
        "ridge", OPENED, T0 + 900, track=7, parent_event=dismissed,
        reason=Reason.GREW_SINCE_DISMISSED,
    )  # fmt: skip
    re_alert = store.get_event(store.apply(update) or 0)
    assert (re_alert.parent_id, re_alert.parent_status) == (dismissed, "dismissed")
    assert re_alert.reason is Reason.GREW_SINCE_DISMISSED


def test_a_link_to_nothing_known_is_dropped_and_the_event_kept(
    store: EventStore, engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = store.apply(make_update("ridge", OPENED, T0, track=1))
    restarted = EventStore(engine, tmp_path / "snaps")  # remembers no episode of the first
    with caplog.at_level(logging.WARNING, logger="store.recorder"):
        grown = restarted.apply(
            make_update("ridge", OPENED, T0 + 60, track=2, parent_track=1, reason=Reason.GREW)
        )
        ghost = restarted.apply(make_update("ridge", OPENED, T0 + 90, track=3, parent_event=999))
    assert grown is not None and ghost is not None and first is not None
    assert restarted.get_event(grown).parent_id is None
    assert restarted.get_event(ghost).parent_id is None
    assert "continues episode 1, which is not known here" in caplog.text
    assert "linked event 999 does not exist" in caplog.text


def test_closed_episodes_are_remembered_for_a_bounded_number(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("store.recorder.RECENT_EPISODES", 3)
    ids = [store.apply(make_update("ridge", OPENED, T0 + t, track=t, frame=None)) for t in range(4)]
    for track in range(4):
        store.apply(make_update("ridge", CLOSED, T0 + 10, track=track, frame=None))

    def parent_of(track: int) -> int | None:
        late = make_update("ridge", OPENED, T0 + 20, track=10 + track, parent_track=track)
        return store.get_event(store.apply(late) or 0).parent_id

    assert parent_of(3) == ids[3]  # closed, still remembered
    assert parent_of(0) is None  # forgotten: three episodes opened after it


def test_the_snapshot_shows_the_event_region(store: EventStore) -> None:
    box = (0.05, 0.05, 0.95, 0.95)
    event_id = store.apply(make_update("ridge", OPENED, T0, track=1, box=box, regions=()))
    assert event_id is not None
    drawn = cv2.imread(str(store.snapshot_path(event_id))).astype(int)
    clean = cv2.imread(str(store.snapshot_path(event_id, clean=True))).astype(int)
    top = round(0.05 * 239)
    changed = np.abs(drawn - clean).sum(axis=2)[top - 4 : top + 1, 40:280]
    assert (changed > 60).any(axis=0).all()
