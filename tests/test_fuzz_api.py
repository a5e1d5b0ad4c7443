"""Property-based fuzzing of every operation in the OpenAPI schema, as admin, viewer and anonymous.

Schemathesis generates requests from ``/openapi.json``, valid ones and invalid ones, and each
answer must not be a server error and must match the schema (status code, content type, body).
The app is the real one (real SQLite, real snapshots) around a fake pipeline, called in-process;
a few events, two mutes (dismissals), departments of three webhook formats and a frame exist so
that small ids hit real rows. Bounded in examples so that it fits CI.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode

from api.app import create_app
from detector.types import Transition
from service.config import AppConfig, MapConfig
from store.roles import Role
from tests.fixtures.app import (
    T0,
    FakePipeline,
    authorize,
    camera_configs,
    make_frame,
    make_update,
    push_update,
)

pytestmark = pytest.mark.slow

EXAMPLES = 6  # per operation, generation mode and role
# An open Server-Sent Events stream never ends by itself; tests/test_console_stream.py covers it.
SKIPPED = {"GET /api/events/stream"}
TILES = "http://127.0.0.1:9/{z}/{x}/{y}.png"
# One department of each kind of channel body: the signed JSON, a group robot, a template.
DEPARTMENTS = [
    {"name": "Fire", "webhook_url": "http://127.0.0.1:9/h", "secret": "s" * 20},
    {
        "name": "Robot",
        "webhook_url": "http://127.0.0.1:9/robot/send?access_token=abc123",
        "webhook_format": "dingtalk",
        "secret": "SEC" + "a1" * 32,
    },
    {
        "name": "SMS",
        "webhook_url": "http://127.0.0.1:9/sms",
        "webhook_format": "template",
        "template": {"body": '{"text": "${summary}"}', "headers": {"X-Api-Key": "k" * 24}},
    },
]
# Operations that must be among those fuzzed (the schema lists them all; a sample kept in view).
REQUIRED = {
    "GET /api/mutes",
    "POST /api/mutes/{mute_id}/lift",
    "GET /api/map/settings",
    "POST /api/departments",
    "PUT /api/departments/{department_id}",
    "POST /api/cameras",
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("fuzz")
    config = AppConfig(
        data_dir=tmp / "data", cameras=camera_configs(tmp), map=MapConfig(tile_url=TILES)
    )
    pipeline = FakePipeline(config.cameras)
    pipeline.frames["ridge"] = make_frame("ridge", T0)
    with TestClient(create_app(config, pipeline=pipeline)) as client:
        authorize(client, "chief", Role.ADMIN)
        for i in range(3):
            push_update(client, make_update("ridge", Transition.OPENED, T0 + 60 * i))
        for event_id in (1, 2):  # each dismissal mutes its region: mutes 1 and 2
            assert client.post(f"/api/events/{event_id}/dismiss", json={}).status_code == 200
        for department in DEPARTMENTS:
            assert client.post("/api/departments", json=department).status_code == 201
        yield client


def _role_headers(client: TestClient, role: str) -> dict[str, str]:
    if role == "anonymous":
        return {}
    name = f"fuzz-{role}"
    authorize(client, name, Role(role))
    return {"Authorization": client.headers["Authorization"]}


def _send(client: TestClient, case: Case, credentials: dict[str, str]) -> Any:
    """Send ``case`` through ``client`` with the role's credentials instead of generated ones."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    headers = {k: v for k, v in kwargs.get("headers", {}).items() if k.lower() != "authorization"}
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    elif "data" in kwargs:
        data = kwargs["data"]
        body["content" if isinstance(data, bytes | str) else "data"] = data
    client.cookies.clear()
    return client.request(
        kwargs["method"],
        kwargs["url"],
        headers=headers | credentials,
        params=kwargs.get("params"),
        **body,
    )


def _fuzz(client: TestClient, case: Case, credentials: dict[str, str]) -> tuple[str, str] | None:
    """The failure of one generated request (what failed, the request), or None."""
    response = _send(client, case, credentials)
    try:
        case.validate_response(response, checks=CHECKS)
    except FailureGroup as group:
        titles = sorted({getattr(e, "title", type(e).__name__) for e in group.exceptions})
        what = f"{case.method} {case.operation.path} -> {response.status_code}: {titles}"
        return what, case.as_curl_command()[:300]
    return None


@pytest.mark.parametrize("role", ["admin", "viewer", "anonymous"])
def test_no_server_error_and_answers_match_the_schema(app_client: TestClient, role: str) -> None:
    schema = schemathesis.openapi.from_dict(app_client.get("/openapi.json").json())
    credentials = _role_headers(app_client, role)
    caller = TestClient(app_client.app, raise_server_exceptions=False)
    counts: Counter[int] = Counter()
    failures: dict[str, str] = {}  # what failed -> one request that shows it
    fuzzed: set[str] = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        name = f"{operation.method.upper()} {operation.path}"
        if name in SKIPPED:
            continue
        fuzzed.add(name)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Case) -> None:
                failure = _fuzz(caller, case, credentials)
                counts[0] += 1
                if failure:
                    failures.setdefault(*failure)

            try:
                run()
            except Unsatisfiable:  # nothing to make invalid (an operation without parameters)
                assert mode is GenerationMode.NEGATIVE
    found = [f"{what}\n    {request}" for what, request in sorted(failures.items())]
    print(f"\n{role}: {counts[0]} requests, {len(failures)} failures", *found, sep="\n")
    assert sorted(failures) == []
    assert REQUIRED.issubset(fuzzed)
