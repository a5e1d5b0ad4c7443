"""What the API checks is stated in its OpenAPI schema, and every bad body is a 422."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from store.accounts import MIN_PASSWORD, NAME_RE


def schemas(client: TestClient) -> dict[str, Any]:
    found: dict[str, Any] = client.get("/openapi.json").json()["components"]["schemas"]
    return found


def _string(prop: dict[str, Any]) -> dict[str, Any]:
    """The string branch of an optional property."""
    branches = [b for b in prop.get("anyOf", [prop]) if b.get("type") == "string"]
    return branches[0]


def test_account_rules_are_in_the_schema(client: TestClient) -> None:
    found = schemas(client)
    assert found["UserIn"]["properties"]["name"]["pattern"] == NAME_RE.pattern
    for model, field in (("UserIn", "password"), ("UserPatch", "password"), ("PasswordIn", "new")):
        assert _string(found[model]["properties"][field])["minLength"] == MIN_PASSWORD, model


def test_mask_rules_are_in_the_schema(client: TestClient) -> None:
    found = schemas(client)
    for masks in (
        found["MasksIn"]["properties"]["masks"],
        found["CameraIn"]["properties"]["masks"],
    ):
        polygon = masks["items"]
        assert polygon["minItems"] == 3
        x, y = polygon["items"]["prefixItems"]
        assert x == y == {"type": "number", "minimum": 0, "maximum": 1}


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe{", b'{"name": "a\xff", "password": "x"}'],
    ids=["utf-16-bom", "invalid-utf-8"],
)
def test_an_undecodable_body_is_a_422_naming_the_body(anon_client: TestClient, body: bytes) -> None:
    response = anon_client.post(
        "/api/auth/login", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("body: not valid JSON")
    assert response.json()["errors"][0]["loc"] == ["body"]


def test_other_http_errors_keep_their_answer(anon_client: TestClient) -> None:
    response = anon_client.get("/api/no-such-thing")
    assert response.status_code == 404 and response.json() == {"detail": "Not Found"}


CHANNEL_BODIES = [
    ({"webhook_url": "http://127.0.0.1:9/hook"}, True),
    ({"email_to": ["fire@example.org"]}, True),
    ({"mqtt_topic": "fire/alerts"}, True),
    ({"webhook_url": "http://127.0.0.1:9/hook", "email_to": []}, True),
    ({}, False),
    ({"email_to": []}, False),
    ({"webhook_url": "http://127.0.0.1:9/hook", "mqtt_topic": "fire/alerts"}, False),
    ({"email_to": ["fire@example.org"], "mqtt_topic": "fire/alerts"}, False),
]


@pytest.mark.parametrize(("channel", "valid"), CHANNEL_BODIES)
def test_department_channel_rule_is_in_the_schema(
    client: TestClient, channel: dict[str, Any], valid: bool
) -> None:
    """The schema and the service agree on "exactly one of webhook_url, email_to, mqtt_topic"."""
    import jsonschema_rs

    components = schemas(client)
    schema = {"$ref": "#/components/schemas/DepartmentIn", "components": {"schemas": components}}
    body = {"name": "Station 4", "secret": "a-long-enough-signing-key", **channel}
    assert jsonschema_rs.validator_for(schema).is_valid(body) is valid
    response = client.post("/api/departments", json=body)
    rule = "one of webhook_url, email_to and mqtt_topic"
    if valid:  # other rules (a mail server for e-mail) may still refuse it, never this one
        assert rule not in response.text, response.text
    else:
        assert response.status_code == 422 and rule in response.json()["detail"]


def test_department_update_takes_at_most_one_channel_in_the_schema(client: TestClient) -> None:
    import jsonschema_rs

    components = schemas(client)
    schema = {
        "$ref": "#/components/schemas/DepartmentUpdate",
        "components": {"schemas": components},
    }
    check = jsonschema_rs.validator_for(schema).is_valid
    assert check({}) and check({"mqtt_topic": "fire/alerts"}) and check({"email_to": []})
    assert not check({"webhook_url": "http://127.0.0.1:9/h", "mqtt_topic": "fire/alerts"})
