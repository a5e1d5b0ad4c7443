"""Events through TestClient(create_app(...)) with real SQLite and real snapshot files."""

from __future__ import annotations

import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from detector.types import Transition
from tests.fixtures.app import T0, client_as, make_frame, make_update, open_event, push_update

OPENED, UPDATED, CLOSED = Transition.OPENED, Transition.UPDATED, Transition.CLOSED


def _jpeg(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG"
        return np.asarray(img.convert("RGB")).astype(int)


@pytest.fixture
def seeded(client: TestClient) -> dict[str, int]:
    """Four events: ridge smoke (active), ridge flame (ended), valley smoke x2 (one ended)."""
    ids = {
        "ridge-smoke": open_event(client, "ridge", T0),
        "ridge-flame": open_event(client, "ridge", T0 + 60, cls="flame"),
        "valley-1": open_event(client, "valley", T0 + 120),
    }
    push_update(client, make_update("ridge", CLOSED, T0 + 90, cls="flame", frame=None))
    push_update(client, make_update("valley", CLOSED, T0 + 150, frame=None))
    ids["valley-2"] = open_event(client, "valley", T0 + 180)
    return ids


def test_list_empty(client: TestClient) -> None:
    assert client.get("/api/events").json() == {"items": [], "total": 0, "limit": 50, "offset": 0}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["valley-2", "valley-1", "ridge-flame", "ridge-smoke"]),
        ("camera=ridge", ["ridge-flame", "ridge-smoke"]),
        ("cls=flame", ["ridge-flame"]),
        ("camera=valley&cls=smoke", ["valley-2", "valley-1"]),
        ("active=true", ["valley-2", "ridge-smoke"]),
        ("active=false", ["valley-1", "ridge-flame"]),
        ("since=2026-06-01T12:01:00Z", ["valley-2", "valley-1", "ridge-flame"]),
        ("until=2026-06-01T12:02:00", ["ridge-flame", "ridge-smoke"]),  # naive: UTC
        ("since=2026-06-01T14:01:30%2B02:00&until=2026-06-01T12:03:00Z", ["valley-1"]),
        ("status=dismissed", ["ridge-smoke"]),
        ("status=open", ["valley-2", "valley-1", "ridge-flame"]),
        ("camera=nowhere", []),
    ],
)
def test_list_filters(
    client: TestClient, seeded: dict[str, int], query: str, expected: list[str]
) -> None:
    client.post(f"/api/events/{seeded['ridge-smoke']}/dismiss", json={})
    body = client.get(f"/api/events?{query}").json()
    assert [item["id"] for item in body["items"]] == [seeded[k] for k in expected]
    assert body["total"] == len(expected)


def test_list_pagination(client: TestClient, seeded: dict[str, int]) -> None:
    body = client.get("/api/events?limit=2&offset=1").json()
    assert (body["total"], body["limit"], body["offset"]) == (4, 2, 1)
    assert [i["id"] for i in body["items"]] == [seeded["valley-1"], seeded["ridge-flame"]]
    assert client.get("/api/events?limit=2&offset=4").json()["items"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=501", "query.limit"),
        ("limit=0", "query.limit"),
        ("offset=-1", "query.offset"),
        ("status=burning", "query.status"),
        ("since=yesterday", "query.since"),
        ("active=maybe", "query.active"),
    ],
)
def test_list_rejects_bad_parameters(client: TestClient, query: str, field: str) -> None:
    response = client.get(f"/api/events?{query}")
    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"{field}: ")


def test_list_item_shape(client: TestClient, seeded: dict[str, int]) -> None:
    item = client.get("/api/events?cls=flame").json()["items"][0]
    assert item["camera_name"] == "Ridge North"
    assert item["started_at"] == "2026-06-01T12:01:00Z"
    assert item["ended_at"] == "2026-06-01T12:01:30Z"
    assert (item["active"], item["duration_s"], item["status"]) == (False, 30.0, "open")
    assert item["regions"] == [{"cls": "smoke", "score": 0.82, "box": [0.4, 0.2, 0.7, 0.55]}]
    assert item["snapshot_url"] == f"/api/events/{seeded['ridge-flame']}/snapshot.jpg?kind=opened"


def test_get_event_with_snapshots_and_timeline(client: TestClient) -> None:
    event_id = open_event(client, score=0.6)
    push_update(client, make_update("ridge", UPDATED, T0 + 10, score=0.8, is_peak=True))
    push_update(client, make_update("ridge", UPDATED, T0 + 20, score=0.75))
    body = client.get(f"/api/events/{event_id}").json()
    assert body["id"] == event_id and body["active"] is True
    assert (body["peak_score"], body["last_score"]) == (0.8, 0.75)
    assert [(p["ts"][-9:], p["score"]) for p in body["timeline"]] == [
        ("12:00:00Z", 0.6),
        ("12:00:10Z", 0.8),
        ("12:00:20Z", 0.75),
    ]
    kinds = {s["kind"]: s for s in body["snapshots"]}
    assert set(kinds) == {"opened", "peak"}
    assert body["snapshot_url"] == kinds["peak"]["url"]
    for snap in kinds.values():
        assert (snap["width"], snap["height"]) == (320, 240)
        for url in (snap["url"], snap["clean_url"]):
            response = client.get(url)
            assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"


def test_get_unknown_or_malformed_id(client: TestClient) -> None:
    response = client.get("/api/events/999")
    assert response.status_code == 404
    assert response.json() == {"detail": "event 999 does not exist"}
    response = client.get("/api/events/abc")
    assert response.status_code == 422 and "path.event_id" in response.json()["detail"]


def test_snapshot_jpeg_variants(client: TestClient) -> None:
    event_id = open_event(client)
    url = f"/api/events/{event_id}/snapshot.jpg"
    opened = client.get(url)
    assert opened.status_code == 200 and opened.headers["content-type"] == "image/jpeg"
    early_peak = client.get(f"{url}?kind=peak")  # until a higher score, the opening is the peak
    assert early_peak.status_code == 200 and early_peak.content == opened.content

    frame = make_frame("ridge", T0 + 5, seed=1)
    push_update(client, make_update("ridge", UPDATED, T0 + 5, score=0.9, is_peak=True, frame=frame))
    default, peak = client.get(url), client.get(f"{url}?kind=peak")
    assert default.content == peak.content != opened.content
    assert client.get(f"{url}?kind=opened").content == opened.content

    annotated, clean = _jpeg(peak.content), _jpeg(client.get(f"{url}?clean=1").content)
    assert annotated.shape == clean.shape == (240, 320, 3)
    assert np.abs(annotated - clean).max() > 100, "regions are drawn on the annotated copy"
    assert client.get(f"{url}?clean=true&kind=peak").content == client.get(f"{url}?clean=1").content


def test_snapshot_etag(client: TestClient) -> None:
    event_id = open_event(client)
    first = client.get(f"/api/events/{event_id}/snapshot.jpg")
    again = client.get(
        f"/api/events/{event_id}/snapshot.jpg", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""


def test_snapshot_errors(client: TestClient) -> None:
    assert client.get("/api/events/42/snapshot.jpg").status_code == 404
    event_id = open_event(client)
    assert client.get(f"/api/events/{event_id}/snapshot.jpg?kind=best").status_code == 422
    no_frame = open_event(client, "valley", frame=None)
    response = client.get(f"/api/events/{no_frame}/snapshot.jpg")
    assert response.status_code == 404
    assert response.json() == {"detail": f"event {no_frame} has no snapshot"}


def test_confirm_then_conflict(client: TestClient) -> None:
    event_id = open_event(client)
    ana, bo = client_as(client, "ana"), client_as(client, "bo")
    # The operator recorded is the authenticated user; a body "operator" (from clients written
    # before accounts) is accepted and ignored.
    body = {"operator": "someone else", "note": "smoke column behind the ridge"}
    response = ana.post(f"/api/events/{event_id}/confirm", json=body)
    assert response.status_code == 200
    event = response.json()
    assert (event["status"], event["operator"], event["note"]) == (
        "confirmed",
        "ana",
        "smoke column behind the ridge",
    )
    assert event["decided_at"].endswith("Z") and event["snapshots"]
    for action in ("confirm", "dismiss"):
        again = bo.post(f"/api/events/{event_id}/{action}", json={})
        assert again.status_code == 409
        assert again.json()["detail"].startswith(
            f"event {event_id} was already confirmed by ana at 20"
        )
    assert client.get(f"/api/events/{event_id}").json()["operator"] == "ana"


def test_list_follows_each_change_at_once(client: TestClient) -> None:
    """The rendered list is reused between changes, never after one (no stale page)."""
    first = open_event(client, "ridge", T0)
    listed = client.get("/api/events?camera=ridge").json()
    assert [(e["id"], e["status"]) for e in listed["items"]] == [(first, "open")]
    assert client.get("/api/events?camera=ridge").json() == listed
    client_as(client, "ana").post(f"/api/events/{first}/dismiss", json={})
    second = open_event(client, "ridge", T0 + 600)
    listed = client.get("/api/events?camera=ridge").json()
    assert [(e["id"], e["status"]) for e in listed["items"]] == [
        (second, "open"),
        (first, "dismissed"),
    ]


def test_dismiss_closed_event(client: TestClient) -> None:
    event_id = open_event(client)
    push_update(client, make_update("ridge", CLOSED, T0 + 70, frame=None))
    bo = client_as(client, "bo")
    response = bo.post(f"/api/events/{event_id}/dismiss", json={})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["note"]) == ("dismissed", "")
    again = bo.post(f"/api/events/{event_id}/dismiss", json={"operator": "bo"})
    assert again.status_code == 409 and "already dismissed by bo" in again.json()["detail"]


def test_an_admin_may_decide_too(client: TestClient) -> None:
    event_id = open_event(client)
    response = client.post(f"/api/events/{event_id}/dismiss", json={"note": "glare"})
    assert response.status_code == 200 and response.json()["operator"] == "chief"


def test_decide_unknown_event(client: TestClient) -> None:
    for action in ("confirm", "dismiss"):
        response = client.post(f"/api/events/77/{action}", json={"operator": "ana"})
        assert response.status_code == 404
        assert response.json() == {"detail": "event 77 does not exist"}


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"content": b"operator=ana", "headers": {"content-type": "text/plain"}}, "body: "),
        (
            {
                "content": b'{"note": "a",\n not json',
                "headers": {"content-type": "application/json"},
            },
            "body: not valid JSON: Expecting property name enclosed in double quotes at line 2, "
            "column 2",
        ),
        ({}, "body: empty: send a JSON object"),
        ({"json": {"operator": "   "}}, "body.operator: String should have at least 1"),
        ({"json": {"operator": "x" * 101}}, "body.operator: String should have at most 100"),
        ({"json": {"operator": "ana", "note": "n" * 2001}}, "body.note: String should have"),
        ({"json": {"operator": "ana", "notes": "typo"}}, "body.notes: unknown key"),
        ({"json": ["ana"]}, "body: must be a JSON object"),
        ({"json": {"operator": 7}}, "body.operator: Input should be a valid string"),
    ],
)
def test_decide_malformed_body(
    client: TestClient, kwargs: dict[str, object], expected: str
) -> None:
    event_id = open_event(client)
    response = client.post(f"/api/events/{event_id}/confirm", **kwargs)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(expected)
    assert response.json()["errors"]
    assert client.get(f"/api/events/{event_id}").json()["status"] == "open"


def test_note_at_the_limit_is_accepted(client: TestClient) -> None:
    event_id = open_event(client)
    body = {"operator": "x" * 100, "note": "n" * 2000}
    assert client.post(f"/api/events/{event_id}/dismiss", json=body).status_code == 200


def test_decision_body_needs_no_operator(client: TestClient) -> None:
    event_id = open_event(client)
    response = client.post(f"/api/events/{event_id}/confirm", json={"note": "seen from tower"})
    assert response.status_code == 200 and response.json()["operator"] == "chief"
