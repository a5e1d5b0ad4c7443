"""Dismissing an event mutes its region: stored with who and when, handed to the camera's
detector at start and after every change, listed and lifted through the API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pytest
from sqlalchemy import Engine

from api.app import stored_mutes
from detector.config import DetectorConfig, SmoothingConfig
from detector.smoothing import CameraSmoother
from detector.types import EventUpdate, Mute, Reason, Region, Transition
from service.config import AppConfig
from service.pipeline import Pipeline
from store.db import init_db, make_engine
from store.events import Decision, EventStore
from store.mutes import FULL_VIEW, MuteAlreadyLifted, MuteNotFound
from streams.config import CameraConfig
from tests.fixtures.app import SMOKE, T0, FakePipeline, client_as, make_update, open_event

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

OPENED, CLOSED = Transition.OPENED, Transition.CLOSED
PLUME_BOX = (0.60, 0.45, 0.70, 0.60)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    eng = make_engine(f"sqlite:///{tmp_path / 'events.db'}")
    init_db(eng)
    return eng


def _dismissed(store: EventStore, **kw: object) -> int:
    event_id = store.apply(make_update("ridge", OPENED, T0, **kw))  # type: ignore[arg-type]
    assert event_id is not None
    store.decide(event_id, Decision.DISMISS, "ana")
    return event_id


def test_dismissing_mutes_the_region_at_the_peak_the_operator_saw(
    engine: Engine, tmp_path: Path
) -> None:
    clock = iter(float(T0 + 100 + i) for i in range(100))
    store = EventStore(engine, tmp_path / "snaps", clock=lambda: next(clock))
    heard: list[str] = []
    store.add_mute_listener(heard.append)
    confirmed = store.apply(make_update("valley", OPENED, T0, track=5))
    assert confirmed is not None
    store.decide(confirmed, Decision.CONFIRM, "ana")
    assert store.mutes() == [] and heard == []  # confirming mutes nothing

    event_id = _dismissed(store, track=1, box=PLUME_BOX, score=0.7, peak_score=0.86)
    (mute,) = store.mutes()
    assert (mute.camera_id, mute.cls, mute.box, mute.event_id) == ("ridge", "smoke", PLUME_BOX,
                                                                    event_id)  # fmt: skip
    assert (mute.level, mute.created_by, mute.active) == (0.86, "ana", True)
    assert mute.created_at == store.get_event(event_id).decided_at
    assert mute.mute() == Mute(event_id, "smoke", PLUME_BOX, 0.86, since=mute.created_at)
    assert heard == ["ridge"]


def test_without_a_box_the_union_of_its_regions_is_muted(engine: Engine, tmp_path: Path) -> None:
    store = EventStore(engine, tmp_path / "snaps")
    other = Region("smoke", 0.6, (0.10, 0.50, 0.30, 0.70))
    _dismissed(store, regions=(SMOKE, other))
    _dismissed(store, track=2, regions=())
    boxes = [mute.box for mute in store.mutes("ridge")]
    assert boxes == [(0.10, 0.20, 0.70, 0.70), FULL_VIEW]


def test_a_mute_fades_as_its_level_decays(engine: Engine, tmp_path: Path) -> None:
    now = [T0]
    store = EventStore(engine, tmp_path / "snaps", clock=lambda: now[0], mute_half_life_s=3600)
    _dismissed(store, peak_score=0.8)  # 0.8 -> 0.05 (faded) in four half-lives
    _dismissed(store, track=2, peak_score=0.04)  # below the faded level from the start
    (mute,) = store.mutes()
    assert (mute.level, mute.fades_at(3600), mute.fades_at(None)) == (0.8, T0 + 4 * 3600, None)
    now[0] = T0 + 4 * 3600 - 60
    assert [m.id for m in store.mutes("ridge")] == [mute.id]
    now[0] = T0 + 4 * 3600 + 60
    assert store.mutes() == []


def test_another_operator_lifts_a_mute_once(engine: Engine, tmp_path: Path) -> None:
    store = EventStore(engine, tmp_path / "snaps")
    heard: list[str] = []
    store.add_mute_listener(heard.append)
    _dismissed(store)
    (mute,) = store.mutes("ridge")
    lifted = store.lift_mute(mute.id, "ben")
    assert (lifted.lifted_by, lifted.created_by, lifted.active) == ("ben", "ana", False)
    assert store.mutes() == [] and heard == ["ridge", "ridge"]
    with pytest.raises(MuteAlreadyLifted, match="already lifted by ben"):
        store.lift_mute(mute.id, "ana")
    with pytest.raises(MuteNotFound):
        store.lift_mute(mute.id + 1, "ana")


class RecordingSmoother(CameraSmoother):
    """The real smoother, except that it records the mutes it is given and closes its episode
    under each one (what the real one does for a region it had not been muted before)."""

    given: ClassVar[dict[str, list[Mute]]] = {}

    def set_mutes(self, mutes: Sequence[Mute], now: float) -> list[EventUpdate]:
        self.given[self.camera_id] = list(mutes)
        return [
            EventUpdate(self.camera_id, m.cls, CLOSED, T0, now, 0.5, 0.9, track=1,
                        reason=Reason.DISMISSED)
            for m in mutes
        ]  # fmt: skip


def _pipeline(
    tmp_path: Path, model_dir: Path, store: EventStore, sink: list[EventUpdate]
) -> Pipeline:
    config = AppConfig(
        data_dir=tmp_path / "data",
        cameras=[CameraConfig(id=cam, url=str(tmp_path / "none.mp4")) for cam in ("ridge", "bare")],
        detector=DetectorConfig(model_dir=model_dir),
        smoothing=SmoothingConfig(),
    )
    return Pipeline(config, sink.append, mutes=stored_mutes(store))


def test_mutes_survive_a_restart_and_reach_the_detector(
    tmp_path: Path, plume_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    first = make_engine(url)
    init_db(first)
    event_id = _dismissed(EventStore(first, tmp_path / "snaps"), box=PLUME_BOX, peak_score=0.9)
    first.dispose()

    monkeypatch.setattr("service.pipeline.CameraSmoother", RecordingSmoother)
    RecordingSmoother.given = {}
    engine = make_engine(url)  # the service started again on the same database
    init_db(engine)
    store = EventStore(engine, tmp_path / "snaps")
    emitted: list[EventUpdate] = []
    pipe = _pipeline(tmp_path, plume_model_dir, store, emitted)
    (mute,) = store.mutes()
    assert RecordingSmoother.given == {
        "ridge": [Mute(event_id, "smoke", PLUME_BOX, 0.9, since=mute.created_at)]
    }  # a camera without mutes is not called
    assert [(u.camera_id, u.reason) for u in emitted] == [("ridge", Reason.DISMISSED)]

    # A change (here a lift) is handed over at once; what the smoother returns is emitted.
    store.lift_mute(mute.id, "ben")
    assert pipe.set_mutes("ridge", stored_mutes(store)("ridge")) is True
    assert RecordingSmoother.given["ridge"] == []
    assert pipe.set_mutes("nowhere", []) is False


# ------------------------------------------------------------------ API


def _mutes(client: TestClient, **params: str) -> list[dict[str, object]]:
    response = client.get("/api/mutes", params=params)
    assert response.status_code == 200, response.text
    body: list[dict[str, object]] = response.json()
    return body


def _muted_counts(client: TestClient) -> Mapping[str, int]:
    return {cam["id"]: cam["muted_regions"] for cam in client.get("/api/cameras").json()}


def test_api_lists_lifts_and_hands_mutes_to_the_pipeline(
    client: TestClient, fake_pipeline: FakePipeline, viewer_client: TestClient
) -> None:
    ana, ben = client_as(client, "ana"), client_as(client, "ben")
    event_id = open_event(client, "ridge", box=PLUME_BOX, peak_score=0.8)
    open_event(client, "valley", track=2)
    assert ana.post(f"/api/events/{event_id}/dismiss", json={}).status_code == 200

    (mute,) = _mutes(viewer_client, camera="ridge")
    assert _mutes(viewer_client, camera="valley") == []
    assert (mute["camera_id"], mute["cls"], mute["box"], mute["level"]) == (
        "ridge", "smoke", list(PLUME_BOX), 0.8)  # fmt: skip
    assert (mute["event_id"], mute["created_by"], mute["lifted_at"]) == (event_id, "ana", None)
    assert _muted_counts(viewer_client) == {"ridge": 1, "valley": 0}
    assert viewer_client.get("/api/cameras/ridge").json()["muted_regions"] == 1
    assert [m.event_id for m in fake_pipeline.mutes["ridge"]] == [event_id]

    lift = f"/api/mutes/{mute['id']}/lift"
    refused = viewer_client.post(lift)
    assert refused.status_code == 403 and _mutes(viewer_client) != []
    lifted = ben.post(lift)
    assert lifted.status_code == 200, lifted.text
    assert (lifted.json()["lifted_by"], lifted.json()["created_by"]) == ("ben", "ana")
    assert _mutes(viewer_client) == [] and _muted_counts(viewer_client)["ridge"] == 0
    assert fake_pipeline.mutes["ridge"] == []

    again = ana.post(lift)
    assert again.status_code == 409 and "already lifted by ben at " in again.json()["detail"]
    missing = ana.post("/api/mutes/4242/lift")
    assert (missing.status_code, missing.json()["detail"]) == (404, "mute 4242 does not exist")
    assert ana.post(f"/api/mutes/{2**70}/lift").status_code == 422


def test_events_api_shows_region_link_and_reason(client: TestClient) -> None:
    ana = client_as(client, "ana")
    parent = open_event(client, "ridge", track=1, box=PLUME_BOX)
    assert ana.post(f"/api/events/{parent}/dismiss", json={}).status_code == 200
    child = open_event(client, "ridge", T0 + 600, track=2, box=(0.5, 0.4, 0.8, 0.7),
                       parent_event=parent, reason=Reason.GREW_SINCE_DISMISSED)  # fmt: skip
    body = client.get(f"/api/events/{child}").json()
    assert (body["box"], body["parent_id"], body["parent_status"], body["reason"]) == (
        [0.5, 0.4, 0.8, 0.7], parent, "dismissed", "grew since dismissed")  # fmt: skip
    listed = {e["id"]: e for e in client.get("/api/events").json()["items"]}
    assert listed[child]["parent_id"] == parent and listed[child]["parent_status"] == "dismissed"
    assert (listed[parent]["parent_id"], listed[parent]["reason"]) == (None, "")
    assert listed[parent]["box"] == list(PLUME_BOX)


def test_a_dismissed_plume_that_grows_after_a_restart_re_alerts_linked(tmp_path: Path) -> None:
    """The real smoother and store: a small plume is dismissed, the service restarts, the plume
    spreads out of its muted region and a new event linked to the dismissed one is stored."""
    cells = ((0.0, 0.0, 0.5, 1.0), (0.5, 0.0, 1.0, 1.0))  # left and right halves
    cfg = SmoothingConfig(tau_s=1.0, min_persistence_s=10, baseline_tau_s=None)

    def frame(smoother: CameraSmoother, ts: float, left: float, right: float) -> list[EventUpdate]:
        return smoother.observe(ts, cells, np.array([[left], [right]]), 2)

    url = f"sqlite:///{tmp_path / 'events.db'}"
    first = make_engine(url)
    init_db(first)
    store = EventStore(first, tmp_path / "snaps")
    before = CameraSmoother("ridge", ("smoke",), {"smoke": 0.5}, cfg)
    ids = [store.apply(u) for t in range(0, 40, 10) for u in frame(before, T0 + t, 0.6, 0.0)]
    (dismissed,) = {i for i in ids if i is not None}
    store.decide(dismissed, Decision.DISMISS, "ana")
    first.dispose()

    engine = make_engine(url)  # the service started again on the same database
    init_db(engine)
    store = EventStore(engine, tmp_path / "snaps")
    after = CameraSmoother("ridge", ("smoke",), {"smoke": 0.5}, cfg)
    assert after.set_mutes(stored_mutes(store)("ridge"), T0 + 60) == []
    quiet = [u for t in range(60, 120, 10) for u in frame(after, T0 + t, 0.6, 0.0)]
    assert quiet == []  # the same plume at the dismissed level: muted
    grown = [u for t in range(120, 160, 10) for u in frame(after, T0 + t, 0.6, 0.7)]
    (opened,) = [u for u in grown if u.transition is OPENED]
    assert (opened.reason, opened.parent_event) == (Reason.GREW_SINCE_DISMISSED, dismissed)
    event = store.get_event(int(store.apply(opened) or 0))
    assert (event.parent_id, event.reason) == (dismissed, "grew since dismissed")
