"""Departments CRUD through the API: admin only, secrets write-only, URL credentials masked."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from detector.types import Transition
from tests.fixtures.app import T0, make_update, push_update

SECRET = "s3cret-value-0123456789"
BODY = {"name": "Fire brigade", "webhook_url": "https://fire.example/hook", "secret": SECRET}


def create(client: TestClient, **changes: Any) -> dict[str, Any]:
    response = client.post("/api/departments", json=BODY | changes)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def stored_secret(client: TestClient, department_id: int) -> str:
    secret: str = client.app.state.publish.departments.get(department_id).secret  # type: ignore[attr-defined]
    return secret


def test_create_and_read_never_show_the_secret(client: TestClient) -> None:
    dep = create(client, escalation_minutes=15, auto_publish={"classes": ["flame"]})
    assert dep["name"] == "Fire brigade" and dep["enabled"] is True
    assert dep["secret_set"] is True and dep["escalation_minutes"] == 15
    assert dep["auto_publish"] == {
        "classes": ["flame"],
        "cameras": [],
        "min_score": 0.0,
        "unconfirmed": False,
    }
    listed = client.get("/api/departments")
    one = client.get(f"/api/departments/{dep['id']}")
    for response in (listed, one):
        assert response.status_code == 200 and SECRET not in response.text
    assert set(dep) == {
        "id",
        "name",
        "webhook_url",
        "email_to",
        "mqtt_topic",
        "webhook_format",
        "template",
        "secret_set",
        "enabled",
        "escalation_minutes",
        "auto_publish",
        "created_at",
        "updated_at",
    }
    assert listed.json() == [dep] and one.json() == dep
    assert stored_secret(client, dep["id"]) == SECRET


def test_update_keeps_omitted_fields_and_the_secret(client: TestClient) -> None:
    dep = create(client, escalation_minutes=10)
    response = client.put(f"/api/departments/{dep['id']}", json={"enabled": False})
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["enabled"] is False
    assert (changed["name"], changed["webhook_url"], changed["escalation_minutes"]) == (
        "Fire brigade",
        "https://fire.example/hook",
        10,
    )
    assert stored_secret(client, dep["id"]) == SECRET

    new_secret = "another-secret-98765"
    body = {"secret": new_secret, "escalation_minutes": None, "name": "Brigade"}
    changed = client.put(f"/api/departments/{dep['id']}", json=body).json()
    assert changed["escalation_minutes"] is None and changed["name"] == "Brigade"
    assert stored_secret(client, dep["id"]) == new_secret
    assert new_secret not in client.get("/api/departments").text


def test_webhook_url_credentials_are_masked(client: TestClient) -> None:
    url = "https://user:pw-123@hooks.example/in?token=tok-456&team=7"
    dep = create(client, webhook_url=url)
    assert dep["webhook_url"] == "https://user:***@hooks.example/in?token=***&team=7"
    text = client.get("/api/departments").text
    assert "pw-123" not in text and "tok-456" not in text
    # A PUT without webhook_url keeps the full stored URL (not the masked one).
    client.put(f"/api/departments/{dep['id']}", json={"enabled": False})
    assert client.app.state.publish.departments.get(dep["id"]).webhook_url == url  # type: ignore[attr-defined]


def test_duplicate_name_and_unknown_id(client: TestClient) -> None:
    first = create(client)
    other = create(client, name="Police")
    assert client.post("/api/departments", json=BODY).status_code == 409
    renamed = client.put(f"/api/departments/{other['id']}", json={"name": first["name"]})
    assert renamed.status_code == 409
    assert "exists already" in renamed.json()["detail"]
    for method in ("get", "put", "delete"):
        kwargs: dict[str, Any] = {"json": {}} if method == "put" else {}
        response = client.request(method, "/api/departments/99", **kwargs)
        assert response.status_code == 404
        assert response.json()["detail"] == "department 99 does not exist"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"secret": "short"}, "secret"),
        ({"webhook_url": "ftp://x/y"}, "webhook_url"),
        ({"name": "  "}, "name"),
        ({"escalation_minutes": 0}, "escalation_minutes"),
        ({"auto_publish": {"classes": ["flame"], "min_score": 1.5}}, "auto_publish.min_score"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_bodies(client: TestClient, changes: dict[str, Any], field: str) -> None:
    response = client.post("/api/departments", json=BODY | changes)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"body.{field}:")


def test_secret_is_required_on_create(client: TestClient) -> None:
    body = {k: v for k, v in BODY.items() if k != "secret"}
    response = client.post("/api/departments", json=body)
    assert response.status_code == 422 and "body.secret" in response.json()["detail"]


def test_only_admins_manage_departments(
    client: TestClient, operator_client: TestClient, anon_client: TestClient
) -> None:
    dep = create(client)
    assert operator_client.get("/api/departments").status_code == 403
    assert operator_client.post("/api/departments", json=BODY | {"name": "x"}).status_code == 403
    assert operator_client.delete(f"/api/departments/{dep['id']}").status_code == 403
    assert anon_client.get("/api/departments").status_code == 401
    # Operators choose recipients from names only: no URL, no secret.
    choices = operator_client.get("/api/publish/departments")
    assert choices.status_code == 200
    assert choices.json() == [
        {
            "id": dep["id"],
            "name": "Fire brigade",
            "enabled": True,
            "escalation_minutes": None,
            "automatic": False,
        }
    ]


def test_delete_cancels_undelivered_alerts(client: TestClient) -> None:
    # A closed loopback port: the alert stays pending until the department is deleted.
    dep = create(client, webhook_url="http://127.0.0.1:9/never")
    event_id = push_update(client, make_update("ridge", Transition.OPENED, T0))
    client.post(f"/api/events/{event_id}/confirm", json={})
    assert client.post(f"/api/events/{event_id}/publish", json={"departments": "all"}).is_success

    assert client.delete(f"/api/departments/{dep['id']}").status_code == 204
    assert client.get(f"/api/departments/{dep['id']}").status_code == 404
    (delivery,) = client.get(f"/api/events/{event_id}/deliveries").json()["deliveries"]
    assert delivery["status"] == "cancelled" and delivery["department_id"] is None
    assert delivery["department"] == "Fire brigade"
    assert delivery["last_error"] == "the department was deleted"


@pytest.mark.parametrize(
    ("channel", "server"),
    [({"email_to": ["duty@fire.example.org"]}, "publish.smtp"),
     ({"mqtt_topic": "district/alerts/fire"}, "publish.mqtt")],
)  # fmt: skip
def test_a_channel_needs_its_server_configured(
    client: TestClient, channel: dict[str, Any], server: str
) -> None:
    body = {"name": "x", "secret": SECRET, **channel}  # this config names no mail server or broker
    response = client.post("/api/departments", json=body)
    assert response.status_code == 422 and server in response.text
