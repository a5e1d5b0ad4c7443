"""Six shapes of credentials in camera and webhook URLs never reach a log line, a GET answer or
the database file in the clear.

The streams layer runs for real against a closed loopback port (real FFmpeg errors, real log
lines); the API runs around a fake pipeline whose cameras carry raw, unredacted error text, so
that the API's own redaction is what is tested there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from service.config import AppConfig
from store.roles import Role
from streams.config import CameraConfig, StreamSettings
from streams.source import CameraSource
from streams.state import StreamState
from tests.fixtures.app import T0, FakePipeline, authorize, open_event

SECRETS = {
    "password": "Pw1-secretA",
    "slash": "s3cret/PW3B",
    "token-user": "s3cretTOKENc",
    "query-token": "QueryTok3nD",
    "escaped": "p%40ssE-secret",
    "query-key": "K3y-in-queryF-0123456789",
}
# The decoded form of the escaped password, which libraries sometimes print.
DECODED = "p@ssE-secret"


def urls(port: int) -> dict[str, str]:
    host = f"127.0.0.1:{port}"
    return {
        "password": f"rtsp://admin:{SECRETS['password']}@{host}/a",
        "slash": f"rtsp://user:{SECRETS['slash']}@{host}/b",
        "token-user": f"rtsp://{SECRETS['token-user']}@{host}/c",
        "query-token": f"rtsp://{host}/d?token={SECRETS['query-token']}&ch=1",
        "escaped": f"rtsp://admin:{SECRETS['escaped']}@{host}/e",
        "query-key": f"http://{host}/f.m3u8?channel=2&api_key={SECRETS['query-key']}",
    }


def leaked(text: str) -> list[str]:
    return [s for s in (*SECRETS.values(), DECODED) if s in text]


def test_the_stream_layer_logs_and_reports_no_credential(
    closed_tcp_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = StreamSettings(open_timeout_s=2, read_timeout_s=2, backoff_initial_s=30)  # type: ignore[call-arg]
    # The slash shape is left out here: FFmpeg would take "user" for a host name to look up.
    shapes = {k: v for k, v in urls(closed_tcp_port).items() if k != "slash"}
    sources = [
        CameraSource(CameraConfig(id=name, url=url), settings) for name, url in shapes.items()
    ]
    for source in sources:
        source.start()
    try:
        deadline = time.monotonic() + 30
        while any(s.state != StreamState.BACKOFF for s in sources) and time.monotonic() < deadline:
            time.sleep(0.05)
        reports = [str(s.stats()) for s in sources]
    finally:
        for source in sources:
            source.stop(timeout=10)
    assert all("Connection refused" in r or "cannot open" in r for r in reports), reports
    assert leaked("\n".join(reports)) == []
    assert leaked(caplog.text) == []
    assert "127.0.0.1" in caplog.text, "the log lines name the cameras' hosts"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[TestClient, AppConfig]]:
    shapes = urls(9)
    config = AppConfig(
        data_dir=tmp_path / "data",
        cameras=[CameraConfig(id=name, url=url) for name, url in shapes.items()],
    )
    pipeline = FakePipeline(config.cameras)
    for name, url in shapes.items():
        # Raw text, as a library might word it: the URL and its secret, decoded.
        raw = f"{url}: 401 Unauthorized (user rejected, password {unquote(SECRETS[name])})"
        pipeline.set_stats(name, state=StreamState.BACKOFF, last_error=raw)
    with TestClient(create_app(config, pipeline=pipeline)) as client:
        yield authorize(client, "chief", Role.ADMIN), config


def _get_everything(client: TestClient, paths: Callable[[str], str]) -> list[str]:
    """Every GET of the schema with real ids filled in; the answers' headers and bodies."""
    texts = []
    for path, item in client.get("/openapi.json").json()["paths"].items():
        if "get" not in item or path == "/api/events/stream":
            continue
        response = client.get(paths(path))
        texts.append(f"{path} {response.status_code} {response.headers} {response.text}")
    return texts


def test_no_get_answer_log_line_or_database_byte_holds_a_credential(
    service: tuple[TestClient, AppConfig], caplog: pytest.LogCaptureFixture
) -> None:
    client, config = service
    caplog.set_level(logging.DEBUG)
    hook = f"https://hooks.example/services/x?access_token={SECRETS['query-token']}"
    body = {"name": "Fire", "webhook_url": hook, "secret": SECRETS["query-key"]}
    department = client.post("/api/departments", json=body).json()["id"]
    event = open_event(client, "password", T0)

    def fill(path: str) -> str:
        ids = {"{event_id}": event, "{department_id}": department, "{camera_id}": "slash"}
        ids |= {"{name}": "chief", "{token}": "none"}
        for key, value in ids.items():
            path = path.replace(key, str(value))
        return path

    texts = _get_everything(client, fill)
    assert len(texts) > 20
    assert [(t[:30], leaked(t)) for t in texts if leaked(t)] == []
    cameras = client.get("/api/cameras").json()
    assert {c["id"]: c["url"] for c in cameras}["slash"] == "rtsp://user:***@127.0.0.1:9/b"
    assert all(c["last_error"].endswith(": 401 Unauthorized (user rejected, password ***)")
               for c in cameras)  # fmt: skip
    assert leaked(caplog.text) == []
    stored = b"".join(p.read_bytes() for p in config.data_dir.glob("emberwatch.db*"))
    assert [s for s in SECRETS.values() if s.encode() in stored] == []
