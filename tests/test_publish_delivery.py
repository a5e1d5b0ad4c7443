"""Publishing to departments through the real app, delivered to real HTTP receivers on
loopback: signatures, exactly-once delivery, retries, failures, acks, escalation."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from alerts.signing import verify_body
from detector.types import Transition
from service.config import AppConfig
from tests.fixtures.app import T0, make_update, publish_config, push_update
from tests.fixtures.webhooks import Receiver, free_port, wait_until

OPENED = Transition.OPENED


@pytest.fixture
def app_config(tmp_path: Path) -> AppConfig:
    """The API fixtures' config with fast retries (overrides tests.fixtures.app)."""
    return publish_config(tmp_path, max_escalations=1)


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    started: list[Receiver] = []
    yield started
    for receiver in started:
        receiver.stop()


def start_receiver(receivers: list[Receiver], status: int = 200, port: int = 0) -> Receiver:
    receiver = Receiver(port=port, status=status).start()
    receivers.append(receiver)
    return receiver


def add_department(client: TestClient, name: str, url: str, **fields: Any) -> dict[str, Any]:
    body = {"name": name, "webhook_url": url, "secret": f"secret-of-{name}-0123456789"} | fields
    response = client.post("/api/departments", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def confirmed_event(client: TestClient, camera: str = "ridge", **kw: Any) -> int:
    event_id = push_update(client, make_update(camera, OPENED, T0, **kw))
    assert event_id is not None
    assert client.post(f"/api/events/{event_id}/confirm", json={"note": "seen"}).status_code == 200
    return event_id


def deliveries(client: TestClient, event_id: int) -> dict[str, Any]:
    response = client.get(f"/api/events/{event_id}/deliveries")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def statuses(client: TestClient, event_id: int) -> dict[str, str]:
    return {d["department"]: d["status"] for d in deliveries(client, event_id)["deliveries"]}


def test_eight_departments_each_receive_the_signed_payload_once(
    client: TestClient, operator_client: TestClient, receivers: list[Receiver]
) -> None:
    hooks = {f"dept-{i}": start_receiver(receivers) for i in range(8)}
    for name, hook in hooks.items():
        add_department(client, name, hook.url)
    event_id = confirmed_event(client)

    response = operator_client.post(
        f"/api/events/{event_id}/publish", json={"departments": "all", "message": "Evacuate"}
    )

    assert response.status_code == 202, response.text
    publication = response.json()
    assert publication["publisher"] == "otto" and publication["automatic"] is False
    assert sorted(d["department"] for d in publication["deliveries"]) == sorted(hooks)
    wait_until(lambda: set(statuses(client, event_id).values()) == {"delivered"}, what="delivery")
    time.sleep(0.3)  # several more sender cycles (50 ms poll) must send nothing again
    assert {d["attempts"] for d in deliveries(client, event_id)["deliveries"]} == {1}
    snapshot = (client.app.state.store.snapshot_path(event_id)).read_bytes()  # type: ignore[attr-defined]
    delivery_ids = set()
    for name, hook in hooks.items():
        got = hook.bodies()
        assert len(got) == 1, f"{name} received {len(got)} requests"
        request = got[0]
        assert verify_body(f"secret-of-{name}-0123456789", request.body, request.headers[
            "x-emberwatch-signature"])  # fmt: skip
        assert not verify_body("secret-of-dept-x-0123456789", request.body,
                               request.headers["x-emberwatch-signature"])  # fmt: skip
        payload = json.loads(request.body)
        assert payload["schema"] == "emberwatch.alert/1"
        assert payload["alert_id"] == publication["alert_id"]
        assert payload["delivery"]["department"] == name
        assert request.headers["idempotency-key"] == payload["delivery"]["id"]
        assert request.headers["x-emberwatch-delivery"] == payload["delivery"]["id"]
        assert request.headers["content-type"] == "application/json"
        assert payload["message"] == "Evacuate" and payload["publisher"] == "otto"
        assert payload["event"]["id"] == event_id and payload["event"]["class"] == "smoke"
        assert payload["event"]["status"] == "confirmed"
        assert payload["event"]["started_at"] == "2026-06-01T12:00:00Z"
        assert payload["camera"]["name"] == "Ridge North"
        assert payload["camera"]["latitude"] == 46.5 and payload["camera"]["heading_deg"] == 135
        assert base64.b64decode(payload["snapshot"]["jpeg_base64"]) == snapshot
        assert payload["delivery"]["ack_url"].startswith("http://127.0.0.1:8000/api/acks/")
        delivery_ids.add(payload["delivery"]["id"])
    assert len(delivery_ids) == 8


def test_receiver_down_for_a_while_gets_it_when_back(
    client: TestClient, receivers: list[Receiver]
) -> None:
    port = free_port()
    add_department(client, "late", f"http://127.0.0.1:{port}/hook")
    event_id = confirmed_event(client)
    assert client.post(f"/api/events/{event_id}/publish", json={"departments": "all"}).is_success

    failing = wait_until(
        lambda: [
            d
            for d in deliveries(client, event_id)["deliveries"]
            if d["status"] == "failing" and d["attempts"] >= 3
        ],
        what="three failed attempts",
    )[0]
    assert "ConnectError" in failing["last_error"]
    assert failing["next_attempt_at"] is not None and failing["delivered_at"] is None

    hook = start_receiver(receivers, port=port)
    wait_until(lambda: statuses(client, event_id) == {"late": "delivered"}, what="delivery")
    assert len(hook.bodies()) == 1
    final = deliveries(client, event_id)["deliveries"][0]
    assert final["attempts"] >= 4 and final["last_error"] is None


def test_unreachable_and_500_are_reported_per_department(
    client: TestClient, receivers: list[Receiver]
) -> None:
    ok, broken = start_receiver(receivers), start_receiver(receivers, status=500)
    add_department(client, "ok", ok.url)
    add_department(client, "broken", broken.url)
    add_department(client, "nowhere", f"http://127.0.0.1:{free_port()}/hook")
    event_id = confirmed_event(client)
    assert client.post(f"/api/events/{event_id}/publish", json={"departments": "all"}).is_success

    def settled() -> dict[str, dict[str, Any]] | None:
        rows = {d["department"]: d for d in deliveries(client, event_id)["deliveries"]}
        done = rows["ok"]["status"] == "delivered"
        return (
            rows if done and all(rows[n]["attempts"] >= 2 for n in ("broken", "nowhere")) else None
        )

    rows = wait_until(settled, what="two attempts each")
    assert rows["broken"]["status"] == "failing"
    assert rows["broken"]["last_status_code"] == 500
    assert rows["broken"]["last_error"] == "HTTP 500: receiver says no"
    assert rows["nowhere"]["status"] == "failing"
    assert rows["nowhere"]["last_status_code"] is None
    assert rows["nowhere"]["last_error"].startswith("ConnectError")
    assert len(ok.bodies()) == 1 and len(broken.bodies()) >= 2
    assert client.get("/healthz").status_code == 200
    summary = client.get(f"/api/publish/summary?event_id={event_id}&event_id=999").json()
    assert summary == [
        {"event_id": event_id, "counts": {"delivered": 1, "failing": 2}, "escalated": False}
    ]

    # The broken receiver recovers: the next retry delivers.
    broken.status = 204
    wait_until(lambda: statuses(client, event_id)["broken"] == "delivered", what="recovery")


def test_acknowledge_by_post_and_by_link(
    client: TestClient, anon_client: TestClient, receivers: list[Receiver]
) -> None:
    first, second = start_receiver(receivers), start_receiver(receivers)
    add_department(client, "first", first.url)
    add_department(client, "second", second.url)
    event_id = confirmed_event(client)
    client.post(f"/api/events/{event_id}/publish", json={"departments": "all"})
    wait_until(lambda: len(first.bodies()) == 1 and len(second.bodies()) == 1)
    ack_first = json.loads(first.bodies()[0].body)["delivery"]["ack_url"]
    ack_second = json.loads(second.bodies()[0].body)["delivery"]["ack_url"]
    path_first = ack_first.removeprefix("http://127.0.0.1:8000")
    path_second = ack_second.removeprefix("http://127.0.0.1:8000")

    posted = anon_client.post(path_first)  # no account needed
    assert posted.status_code == 200, posted.text
    assert posted.json()["department"] == "first" and posted.json()["event_id"] == event_id
    # Opening the link (as a mail program's link scanner does) only shows the button.
    for _ in range(3):
        page = anon_client.get(path_second)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "Acknowledge this alert?" in page.text and '<form method="post">' in page.text
    assert statuses(client, event_id) == {"first": "acknowledged", "second": "delivered"}
    assert deliveries(client, event_id)["escalated"] is False
    # The button posts the (empty) form back to the link, as a browser does, and gets a page.
    form = {"content-type": "application/x-www-form-urlencoded"}
    pressed = anon_client.post(path_second, content=b"", headers=form)
    assert pressed.status_code == 200 and "text/html" in pressed.headers["content-type"]
    assert "second acknowledged" in pressed.text
    assert "second acknowledged" in anon_client.get(path_second).text
    assert "<form" not in anon_client.get(path_second).text

    assert statuses(client, event_id) == {"first": "acknowledged", "second": "acknowledged"}
    assert deliveries(client, event_id)["acknowledged"] is True
    again = anon_client.post(path_first)  # harmless repeat keeps the first time
    assert again.json()["acknowledged_at"] == posted.json()["acknowledged_at"]
    assert anon_client.post("/api/acks/not-a-token").status_code == 404
    assert anon_client.get("/api/acks/not-a-token").status_code == 404
    assert anon_client.get("/api/events/1/deliveries").status_code == 401


def test_escalation_resends_and_flags(client: TestClient, receivers: list[Receiver]) -> None:
    hook = start_receiver(receivers)
    add_department(client, "slow", hook.url, escalation_minutes=0.002)  # 0.12 s
    event_id = confirmed_event(client)
    client.post(f"/api/events/{event_id}/publish", json={"departments": "all"})

    wait_until(lambda: len(hook.bodies()) == 2, what="the escalation re-send")
    first, resent = (json.loads(r.body) for r in hook.bodies())
    assert (first["delivery"]["escalation"], resent["delivery"]["escalation"]) == (0, 1)
    keys = [r.headers["idempotency-key"] for r in hook.bodies()]
    assert keys == [first["delivery"]["id"], first["delivery"]["id"] + ".1"]
    wait_until(lambda: statuses(client, event_id) == {"slow": "delivered"})
    body = deliveries(client, event_id)
    assert body["escalated"] is True
    assert body["deliveries"][0]["escalations"] == 1 and body["deliveries"][0]["escalated"]
    time.sleep(0.5)  # > 3 escalation periods: max_escalations is 1, so no third copy
    assert len(hook.bodies()) == 2


def test_publish_refusals(
    client: TestClient, viewer_client: TestClient, receivers: list[Receiver]
) -> None:
    hook = start_receiver(receivers)
    dep = add_department(client, "fire", hook.url)
    event_id = push_update(client, make_update("ridge", OPENED, T0))
    assert event_id is not None
    url = f"/api/events/{event_id}/publish"

    refused = client.post(url, json={"departments": "all"})
    assert refused.status_code == 409
    assert "is open; only confirmed events are published" in refused.json()["detail"]
    client.post(f"/api/events/{event_id}/confirm", json={})
    assert client.post("/api/events/999/publish", json={"departments": "all"}).status_code == 404
    missing = client.post(url, json={"departments": [dep["id"], 77]})
    assert (missing.status_code, missing.json()["detail"]) == (404, "department 77 does not exist")
    assert client.post(url, json={"departments": []}).status_code == 409
    assert client.post(url, json={"departments": "some"}).status_code == 422
    assert client.post(url, json={"departments": "all", "extra": 1}).status_code == 422
    assert viewer_client.post(url, json={"departments": "all"}).status_code == 403
    client.put(f"/api/departments/{dep['id']}", json={"enabled": False})
    assert client.post(url, json={"departments": [dep["id"]]}).status_code == 409
    nothing = client.post(url, json={"departments": "all"})
    assert nothing.json()["detail"] == "there is no enabled department to publish to"
    assert deliveries(client, event_id)["deliveries"] == []
    assert hook.bodies() == []
