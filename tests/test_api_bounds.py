"""Out-of-range numbers and malformed values in paths and queries: a 4xx naming the parameter,
never a server error. SQLite and PostgreSQL keep integers in 64 bits, so an id or offset of
2^63 or more must be refused before it reaches the database."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.schemas.common import DB_INT_MAX
from tests.fixtures.app import open_event

HUGE = 2**63  # one more than the largest 64-bit signed integer

# Every route with an integer in its path or query, called with HUGE.
HUGE_REQUESTS = [
    ("GET", f"/api/events/{HUGE}"),
    ("GET", f"/api/events/{HUGE}/snapshot.jpg"),
    ("GET", f"/api/events/{HUGE}/location"),
    ("GET", f"/api/events/{HUGE}/deliveries"),
    ("POST", f"/api/events/{HUGE}/confirm"),
    ("POST", f"/api/events/{HUGE}/dismiss"),
    ("POST", f"/api/events/{HUGE}/publish"),
    ("GET", f"/api/departments/{HUGE}"),
    ("PUT", f"/api/departments/{HUGE}"),
    ("DELETE", f"/api/departments/{HUGE}"),
    ("POST", f"/api/mutes/{HUGE}/lift"),
    ("GET", f"/api/events?offset={HUGE}"),
    ("GET", f"/api/publish/summary?event_id={HUGE}"),
    ("GET", f"/api/published/{HUGE}/snapshot.jpg?expires=1&sig={'0' * 64}"),
    ("GET", f"/api/published/1/snapshot.jpg?expires={HUGE}&sig={'0' * 64}"),
]


def _body(method: str, path: str) -> dict[str, Any] | None:
    if method == "POST" and path.endswith("/publish"):
        return {"departments": "all"}
    if method in ("POST", "PUT"):
        return {}
    return None


@pytest.mark.parametrize(
    ("method", "path"), HUGE_REQUESTS, ids=[f"{m} {p}" for m, p in HUGE_REQUESTS]
)
def test_an_id_beyond_64_bits_is_refused_not_a_server_error(
    client: TestClient, method: str, path: str
) -> None:
    response = client.request(method, path, json=_body(method, path))
    assert response.status_code in (404, 422), response.text
    if response.status_code == 422:
        assert "less than or equal to" in response.json()["detail"]


def test_the_largest_64_bit_id_is_a_plain_404(client: TestClient) -> None:
    response = client.get(f"/api/events/{DB_INT_MAX}")
    assert response.status_code == 404
    assert response.json() == {"detail": f"event {DB_INT_MAX} does not exist"}


def test_every_integer_parameter_is_bounded_in_the_schema(client: TestClient) -> None:
    """The root cause, checked once for all routers: no unbounded integer parameter."""
    unbounded = []
    for path, item in client.get("/openapi.json").json()["paths"].items():
        for method, operation in item.items():
            for param in operation.get("parameters", []):
                schema = param["schema"]
                schema = schema.get("items", schema) if schema.get("type") == "array" else schema
                if schema.get("type") == "integer" and "maximum" not in schema:
                    unbounded.append(f"{method.upper()} {path} {param['name']}")
    assert unbounded == []


@pytest.mark.parametrize("until", ["0.5", "1780315200", "-3", "1e9"])
@pytest.mark.parametrize(
    "path", ["/api/events", "/api/export/events.csv", "/api/export/dataset.zip"]
)
def test_a_number_is_not_a_time(client: TestClient, path: str, until: str) -> None:
    response = client.get(path, params={"until": until})
    assert response.status_code == 422
    assert "until" in response.json()["detail"] and "ISO 8601" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/events", "/api/export/events.csv"])
def test_an_iso_time_is_still_accepted(client: TestClient, path: str) -> None:
    assert client.get(path, params={"until": "2026-06-01T12:00:00Z"}).status_code == 200


@pytest.mark.parametrize(
    "sig",
    ["é" * 64, "\u2603", "g" * 64, "0" * 63, "0" * 65, "A" * 64, "%00"],
    ids=["non-ascii", "snowman", "not-hex", "short", "long", "upper-case", "nul"],
)
def test_a_malformed_signature_is_refused_without_an_account(
    client: TestClient, anon_client: TestClient, sig: str
) -> None:
    event_id = open_event(client)
    response = anon_client.get(
        f"/api/published/{event_id}/snapshot.jpg", params={"expires": 2**40, "sig": sig}
    )
    assert response.status_code == 422
    assert "query.sig" in response.json()["detail"]


def test_a_well_formed_wrong_signature_is_forbidden(
    client: TestClient, anon_client: TestClient
) -> None:
    event_id = open_event(client)
    response = anon_client.get(
        f"/api/published/{event_id}/snapshot.jpg", params={"expires": 2**40, "sig": "ab" * 32}
    )
    assert response.status_code == 403


def test_the_signer_refuses_non_ascii_without_raising(client: TestClient) -> None:
    signer = client.app.state.publish.signer  # type: ignore[attr-defined]
    good = signer.signature(1, 2**40)
    assert signer.valid(1, 2**40, good, 0.0)
    assert not signer.valid(1, 2**40, "é" * 64, 0.0)
    assert not signer.valid(1, 2**40, good.upper(), 0.0)
