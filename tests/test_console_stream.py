"""The live event feed (SSE) over a real HTTP server, and the console's pages."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.routers import stream as stream_module
from detector.types import Transition
from service.config import AppConfig
from store.events import EventChange
from store.roles import Role
from tests.fixtures.app import T0, FakePipeline, LiveServer, make_update, store_update


@pytest.fixture
def server(app_config: AppConfig, fake_pipeline: FakePipeline) -> Iterator[LiveServer]:
    with LiveServer(create_app(app_config, pipeline=fake_pipeline)) as live:
        live.app.state.auth.add_user("vera", Role.VIEWER)
        live.app.state.auth.add_user("otto", Role.OPERATOR)
        yield live


def _client(server: LiveServer, name: str) -> httpx.Client:
    token = server.app.state.auth.issue_token(name)
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=20
    )


def _messages(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """SSE messages as dicts of their fields; comments as {"comment": text}."""
    fields: dict[str, Any] = {}
    for line in lines:
        if line.startswith(":"):
            yield {"comment": line[1:].strip()}
        elif line == "":
            if fields:
                yield fields
            fields = {}
        else:
            key, _, value = line.partition(":")
            fields[key] = value.strip()


def _next_event(messages: Iterator[dict[str, Any]]) -> dict[str, Any]:
    for msg in messages:
        if msg.get("event") == "event":
            return msg
    raise AssertionError("the stream ended")


def test_stream_delivers_opened_and_decisions(server: LiveServer) -> None:
    viewer, operator = _client(server, "vera"), _client(server, "otto")
    with viewer, operator, viewer.stream("GET", "/api/events/stream") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        messages = _messages(response.iter_lines())
        first = next(messages)
        assert first["retry"] == "2000"
        assert next(messages) == {"comment": "connected"}

        event_id = store_update(server.app, make_update("ridge", Transition.OPENED, T0))
        msg = _next_event(messages)
        data = json.loads(msg["data"])
        assert msg["id"] == str(event_id)
        assert data["change"] == "opened"
        assert (data["event"]["id"], data["event"]["camera_name"]) == (event_id, "Ridge North")
        assert data["event"]["snapshot_url"].startswith(f"/api/events/{event_id}/snapshot.jpg")

        decided = operator.post(f"/api/events/{event_id}/confirm", json={"note": "seen"})
        assert decided.status_code == 200
        data = json.loads(_next_event(messages)["data"])
        assert (data["change"], data["event"]["status"], data["event"]["operator"]) == (
            "confirm",
            "confirmed",
            "otto",
        )


def test_stream_needs_an_account(server: LiveServer) -> None:
    response = httpx.get(server.url + "/api/events/stream", timeout=10)
    assert response.status_code == 401


def test_heartbeats_and_cleanup(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream_module, "HEARTBEAT_S", 0.2)
    with _client(server, "vera") as viewer:
        with viewer.stream("GET", "/api/events/stream") as response:
            messages = _messages(response.iter_lines())
            seen = [next(messages) for _ in range(4)]
            assert seen[-1] == {"comment": "heartbeat"}
            assert server.app.state.broadcaster.count == 1
        deadline = time.monotonic() + 10
        while server.app.state.broadcaster.count and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.app.state.broadcaster.count == 0, "a closed stream unsubscribes"


def test_a_slow_client_is_told_to_resync() -> None:
    async def run() -> tuple[int, bool]:
        sub = stream_module.Subscriber(asyncio.get_running_loop())
        for i in range(stream_module.QUEUE_SIZE + 5):
            sub.put(
                stream_module.Published(i, EventChange(i, "ridge", "smoke", Transition.UPDATED))
            )
        return sub.queue.qsize(), sub.overflowed

    assert asyncio.run(run()) == (stream_module.QUEUE_SIZE, True)


def test_each_change_is_read_once_for_all_streams(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = server.app.state.store
    event_id = store_update(server.app, make_update("ridge", Transition.OPENED, T0))
    assert event_id is not None
    reads: list[int] = []
    get_event = store.get_event

    def counted(eid: int) -> Any:
        reads.append(eid)
        return get_event(eid)

    monkeypatch.setattr(store, "get_event", counted)
    broadcaster = stream_module.Broadcaster(store)

    async def run() -> list[Any]:
        subs = [broadcaster.subscribe() for _ in range(20)]
        broadcaster.publish(EventChange(event_id, "ridge", "smoke", Transition.OPENED))
        broadcaster.publish(EventChange(event_id, "ridge", "smoke", Transition.UPDATED))
        got = [await asyncio.wait_for(s.queue.get(), 5) for s in subs for _ in range(2)]
        return list(await asyncio.gather(*(broadcaster.render(p) for p in got)))

    events = asyncio.run(run())
    assert len(events) == 40 and all(e is not None and e["id"] == event_id for e in events)
    assert reads == [event_id, event_id]  # one read per change, not one per stream


def test_console_pages(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as browser:
        response = browser.get("/")
        assert response.status_code == 303 and response.headers["location"] == "/login"
        login_page = browser.get("/login")
        assert login_page.status_code == 200 and 'id="login-form"' in login_page.text
        for asset in ("app.css", "i18n.js", "common.js", "queue.js", "detail.js", "app.js"):
            assert browser.get(f"/static/{asset}").status_code == 200, asset
        server.app.state.auth.add_user("mia", Role.VIEWER, "a-long-password")
        login = browser.post("/api/auth/login", json={"name": "mia", "password": "a-long-password"})
        assert login.status_code == 200
        page = browser.get("/")
        assert page.status_code == 200 and 'id="queue-list"' in page.text
        assert "cdn" not in page.text.lower() and "https://" not in page.text
