"""Operator statistics: the arithmetic, the endpoint and the /metrics export."""

from __future__ import annotations

import time
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.routers.stats import EventFacts, compute_stats
from detector.types import Transition
from store.db import EventRow, EventStatus
from tests.fixtures.app import client_as, make_update, push_update
from tests.test_api_system import _sample

DAY = 86400.0
# 2026-06-10T12:00:00Z
NOW = 1_781_092_800.0
OPEN, CONFIRMED, DISMISSED = EventStatus.OPEN, EventStatus.CONFIRMED, EventStatus.DISMISSED


def fact(cam: str, status: EventStatus, ago_s: float, wait_s: float | None = None) -> EventFacts:
    """An event that started ``ago_s`` before NOW, stored 10 s later, decided ``wait_s`` after."""
    start = NOW - ago_s
    decided = None if wait_s is None else start + 10 + wait_s
    return EventFacts(cam, cam.title(), status, start, start + 10, decided)


def test_per_camera_statistics() -> None:
    facts = [
        fact("ridge", CONFIRMED, 3600, wait_s=30),
        fact("ridge", DISMISSED, 2 * DAY, wait_s=90),
        fact("ridge", DISMISSED, 2 * DAY + 60, wait_s=600),
        fact("ridge", OPEN, 60),
        fact("valley", OPEN, 5 * DAY),
        fact("ridge", CONFIRMED, 30 * DAY, wait_s=5),  # outside the 7-day window
    ]
    stats = compute_stats(facts, {"ridge": "Ridge North", "quiet": "Quiet"}, NOW, days=7)
    by_id = {c.camera_id: c for c in stats.cameras}
    assert list(by_id) == ["quiet", "ridge", "valley"]
    ridge = by_id["ridge"]
    assert ridge.camera_name == "Ridge North"
    assert (ridge.events, ridge.confirmed, ridge.dismissed, ridge.open) == (4, 1, 2, 1)
    assert ridge.events_per_day == pytest.approx(4 / 7)
    assert ridge.dismissed_share == pytest.approx(2 / 3)
    assert ridge.median_decision_s == 90
    assert [(d.day, d.events) for d in ridge.per_day][-3:] == [
        (date(2026, 6, 8), 2),
        (date(2026, 6, 9), 0),
        (date(2026, 6, 10), 2),
    ]
    assert len(ridge.per_day) == 7 and ridge.per_day[0].day == date(2026, 6, 4)
    quiet = by_id["quiet"]
    assert (quiet.events, quiet.dismissed_share, quiet.median_decision_s) == (0, None, None)
    assert by_id["valley"].camera_name == "Valley", "a camera no longer configured keeps its name"
    assert (stats.total.events, stats.total.open, stats.total.dismissed) == (5, 2, 2)
    assert stats.total.median_decision_s == 90


@pytest.mark.parametrize(
    ("offset_min", "expected_day"),
    [(0, date(2026, 6, 9)), (480, date(2026, 6, 10)), (-600, date(2026, 6, 9))],
)
def test_days_follow_the_local_offset(offset_min: int, expected_day: date) -> None:
    # 2026-06-09T20:00Z is already the 10th in UTC+8 and still the 9th in UTC-10.
    facts = [fact("ridge", OPEN, 16 * 3600)]
    stats = compute_stats(facts, {}, NOW, days=3, offset_min=offset_min)
    days = {d.day: d.events for d in stats.cameras[0].per_day}
    assert days[expected_day] == 1 and sum(days.values()) == 1


def _recent_events(client: TestClient) -> list[int]:
    now = time.time()
    ids = []
    for camera, ago in (("ridge", 7200), ("ridge", 3600), ("valley", 600)):
        event_id = push_update(client, make_update(camera, Transition.OPENED, now - ago))
        assert event_id is not None
        ids.append(event_id)
    ana = client_as(client, "ana")
    ana.post(f"/api/events/{ids[0]}/dismiss", json={"note": "cloud"})
    ana.post(f"/api/events/{ids[1]}/confirm", json={})
    # Decisions 40 s and 100 s after the events were stored (the store stamps "now").
    store = client.app.state.store  # type: ignore[attr-defined]
    with store.engine.begin() as conn:
        for event_id, wait in ((ids[0], 40.0), (ids[1], 100.0)):
            conn.execute(
                update(EventRow)
                .where(EventRow.id == event_id)
                .values(decided_at=EventRow.created_at + wait)
            )
    return ids


def test_stats_endpoint(client: TestClient, viewer_client: TestClient) -> None:
    _recent_events(client)
    response = viewer_client.get("/api/stats?days=3")
    assert response.status_code == 200
    body = response.json()
    cams = {c["camera_id"]: c for c in body["cameras"]}
    assert set(cams) == {"ridge", "valley"}
    assert (cams["ridge"]["events"], cams["ridge"]["dismissed_share"]) == (2, 0.5)
    assert cams["ridge"]["median_decision_s"] == pytest.approx(70, abs=1)
    assert cams["valley"]["open"] == 1 and cams["valley"]["median_decision_s"] is None
    assert len(cams["ridge"]["per_day"]) == 3 and body["total"]["events"] == 3
    assert client.get("/api/stats?days=0").status_code == 422


def test_stats_need_an_account(anon_client: TestClient) -> None:
    assert anon_client.get("/api/stats").status_code == 401


def test_operator_statistics_in_metrics(client: TestClient) -> None:
    _recent_events(client)
    text = client.get("/metrics").text
    assert _sample(text, "emberwatch_operator_events_per_day", camera="ridge") == pytest.approx(
        2 / 7
    )
    assert _sample(text, "emberwatch_operator_dismissed_ratio", camera="ridge") == 0.5
    assert _sample(text, "emberwatch_operator_dismissed_ratio", camera="valley") is None
    median = _sample(text, "emberwatch_operator_decision_median_seconds", camera="ridge")
    assert median == pytest.approx(70, abs=1)
    labels = {"camera": "ridge", "decision": "dismissed"}
    assert _sample(text, "emberwatch_operator_decisions_total", **labels) == 1
    assert _sample(text, "emberwatch_operator_events_undecided", camera="valley") == 1
    assert _sample(text, "emberwatch_operator_events_undecided", camera="ridge") is None


def test_metrics_survive_a_broken_events_table(client: TestClient) -> None:
    store = client.app.state.store  # type: ignore[attr-defined]
    with store.engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE {EventRow.__tablename__}")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "emberwatch_frames_decoded_total" in response.text
    assert "emberwatch_operator_events_per_day" not in response.text
