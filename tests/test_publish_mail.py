"""Departments that receive alerts by e-mail, through the real app and a real SMTP server on
loopback: one message per department, signed like a webhook, with the snapshot shown in its HTML
part."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from alerts.mail import build_message
from alerts.records import DueDelivery
from alerts.signing import verify_body
from service.config import AppConfig
from tests.fixtures.app import publish_config
from tests.fixtures.mail import MailServer
from tests.fixtures.webhooks import Receiver, wait_until
from tests.test_publish_delivery import confirmed_event, statuses

SECRET = "mail-secret-0123456789"
TO = ["duty@fire.example.org", "chief@fire.example.org"]


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    server = MailServer()  # its port is chosen now; each test starts it when it wants
    yield server
    server.stop()


@pytest.fixture
def app_config(tmp_path: Path, mail_server: MailServer) -> AppConfig:
    """The API fixtures' config with fast retries and the loopback mail server."""
    smtp = {"host": "127.0.0.1", "port": mail_server.port, "security": "none",
            "from_address": "Emberwatch <alerts@emberwatch.example.org>"}  # fmt: skip
    return publish_config(tmp_path, smtp=smtp)


def add(client: TestClient, name: str, **channel: Any) -> dict[str, Any]:
    response = client.post("/api/departments", json={"name": name, "secret": SECRET, **channel})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_an_email_department_gets_one_signed_message_with_the_snapshot(
    client: TestClient, mail_server: MailServer
) -> None:
    mail_server.start()
    dep = add(client, "Fire brigade", email_to=TO)
    assert dep["email_to"] == TO and dep["webhook_url"] is None
    event_id = confirmed_event(client)
    body = {"departments": "all", "message": "Smoke above the ridge"}
    response = client.post(f"/api/events/{event_id}/publish", json=body)
    assert response.status_code == 202, response.text
    wait_until(lambda: statuses(client, event_id) == {"Fire brigade": "delivered"})
    (mail,) = mail_server.mails()
    assert sorted(mail.recipients) == sorted(TO)
    msg = mail.message
    assert msg["Subject"] == f"[Emberwatch] smoke at Ridge North (event {event_id})"
    text = msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Smoke above the ridge" in text and "Camera: Ridge North (ridge)" in text
    (alert,) = [p for p in msg.iter_attachments() if p.get_filename() == "alert.json"]
    body = alert.get_content()
    raw = body if isinstance(body, bytes) else body.encode()
    assert verify_body(SECRET, raw, msg["X-Emberwatch-Signature"])
    payload = json.loads(raw)
    assert payload["event"]["id"] == event_id and payload["delivery"]["department"] == dep["name"]
    (jpeg,) = [p for p in msg.walk() if p.get_content_type() == "image/jpeg"]
    assert jpeg.get_content()[:2] == b"\xff\xd8"
    page = msg.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert f'src="cid:{jpeg["Content-ID"].strip("<>")}"' in page
    assert "Smoke above the ridge" in page and payload["delivery"]["ack_url"] in page
    token = payload["delivery"]["ack_url"].rsplit("/", 1)[1]
    assert client.post(f"/api/acks/{token}").status_code == 200
    assert statuses(client, event_id) == {"Fire brigade": "acknowledged"}


def test_a_mail_server_that_is_down_gets_the_alert_when_it_is_back(
    client: TestClient, mail_server: MailServer
) -> None:
    add(client, "Forestry", email_to=TO[:1])
    webhook = Receiver().start()
    try:
        add(client, "Police", webhook_url=webhook.url)
        event_id = confirmed_event(client)
        client.post(f"/api/events/{event_id}/publish", json={"departments": "all"})
        wait_until(lambda: statuses(client, event_id) == {"Forestry": "failing",
                                                          "Police": "delivered"})  # fmt: skip
        (failing,) = [d for d in client.get(f"/api/events/{event_id}/deliveries").json()
                      ["deliveries"] if d["department"] == "Forestry"]  # fmt: skip
        assert f"127.0.0.1:{mail_server.port}" in failing["last_error"]
        mail_server.start()
        wait_until(lambda: statuses(client, event_id)["Forestry"] == "delivered")
        assert len(mail_server.mails()) == 1 and len(webhook.bodies()) == 1
    finally:
        webhook.stop()


@pytest.mark.parametrize(
    ("channel", "says"),
    [
        ({}, "one channel per department"),
        ({"webhook_url": "http://127.0.0.1:9/h", "email_to": TO}, "one channel per department"),
        ({"email_to": ["duty at fire"]}, "not an e-mail address: duty at fire"),
    ],
)
def test_a_department_has_exactly_one_valid_channel(
    client: TestClient, channel: dict[str, Any], says: str
) -> None:
    response = client.post("/api/departments", json={"name": "x", "secret": SECRET, **channel})
    assert response.status_code == 422 and says in response.text


def test_switching_a_department_from_webhook_to_email(client: TestClient) -> None:
    dep = add(client, "Hospital", webhook_url="http://127.0.0.1:9/h")
    changed = client.put(f"/api/departments/{dep['id']}", json={"email_to": TO[:1]}).json()
    assert changed["email_to"] == TO[:1] and changed["webhook_url"] is None


def test_the_html_part_escapes_what_it_shows_and_has_no_picture_without_a_snapshot() -> None:
    payload = {
        "message": "<b>Smoke</b> & ash",
        "alert_id": "a-1",
        "event": {
            "id": 7,
            "class": "smoke",
            "peak_score": 0.91,
            "started_at": "t0",
            "decided_by": "duty",
            "decided_at": "t1",
        },
        "camera": {"name": "Ridge <North>", "id": "ridge"},
        "delivery": {"escalation": 0, "ack_url": "https://ew.example/api/acks/t?a=1&b=2"},
    }
    due = DueDelivery(id=1, uid="u-1", event_id=7, department_name="Fire", url=None,
                      secret=SECRET, ack_token="t", attempts=0, escalations=0,
                      payload=payload, email_to=tuple(TO))  # fmt: skip
    msg = build_message(due, json.dumps(payload).encode(), "alerts@emberwatch.example.org")
    page = msg.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "&lt;b&gt;Smoke&lt;/b&gt; &amp; ash" in page and "<b>Smoke" not in page
    assert "Ridge &lt;North&gt; (ridge)" in page
    assert 'href="https://ew.example/api/acks/t?a=1&amp;b=2"' in page
    assert "<img" not in page and not [p for p in msg.walk() if p.get_content_maintype() == "image"]
    text = msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "<b>Smoke</b> & ash" in text and "Camera: Ridge <North> (ridge)" in text
