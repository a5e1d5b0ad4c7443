"""Automatic publishing policies, through the store listener, to loopback receivers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from detector.types import Region, Transition
from service.config import AppConfig
from tests.fixtures.app import T0, make_update, publish_config, push_update
from tests.fixtures.webhooks import Receiver, wait_until

OPENED, UPDATED = Transition.OPENED, Transition.UPDATED
FLAME = Region(cls="flame", score=0.9, box=(0.4, 0.5, 0.5, 0.7))


@pytest.fixture
def app_config(tmp_path: Path) -> AppConfig:
    return publish_config(tmp_path)


@pytest.fixture
def hooks(client: TestClient) -> Iterator[dict[str, Receiver]]:
    """Four departments: two policies on ridge, one restricted to valley, one without."""
    policies: dict[str, dict[str, Any] | None] = {
        "brigade": {"classes": ["flame"], "min_score": 0.8, "unconfirmed": True},
        "forestry": {"classes": ["smoke", "flame"], "min_score": 0.5},
        "valley-watch": {"classes": ["smoke"], "cameras": ["valley"], "unconfirmed": True},
        "manual": None,
    }
    receivers = {name: Receiver().start() for name in policies}
    for name, policy in policies.items():
        body = {"name": name, "webhook_url": receivers[name].url, "secret": "0123456789abcdef"}
        if policy is not None:
            body["auto_publish"] = policy
        assert client.post("/api/departments", json=body).status_code == 201
    yield receivers
    for receiver in receivers.values():
        receiver.stop()


def settle(client: TestClient) -> None:
    """Let the policy thread handle every change, and the sender a few cycles."""
    client.app.state.publish.reactor.drain()  # type: ignore[attr-defined]
    time.sleep(0.3)


def counts(hooks: dict[str, Receiver]) -> dict[str, int]:
    return {name: len(r.bodies()) for name, r in hooks.items()}


def payload(receiver: Receiver, index: int = 0) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(receiver.bodies()[index].body)
    return result


def test_unconfirmed_policy_publishes_on_open_once(
    client: TestClient, hooks: dict[str, Receiver]
) -> None:
    flame = push_update(client, make_update("ridge", OPENED, T0, cls="flame", score=0.85,
                                            regions=(FLAME,)))  # fmt: skip
    wait_until(lambda: len(hooks["brigade"].bodies()) == 1, what="the automatic alert")
    sent = payload(hooks["brigade"])
    assert sent["automatic"] is True and sent["publisher"] is None
    assert sent["event"] == sent["event"] | {"id": flame, "class": "flame", "status": "open"}
    assert sent["message"].startswith("Automatic alert (unconfirmed): flame")
    push_update(client, make_update("ridge", UPDATED, T0 + 5, cls="flame", score=0.95))
    settle(client)
    # forestry waits for a confirmation; the valley policy and the manual one never fire here.
    assert counts(hooks) == {"brigade": 1, "forestry": 0, "valley-watch": 0, "manual": 0}
    (delivery,) = client.get(f"/api/events/{flame}/deliveries").json()["deliveries"]
    assert delivery["automatic"] is True and delivery["department"] == "brigade"


def test_confirmed_policy_publishes_on_confirm(
    client: TestClient, hooks: dict[str, Receiver]
) -> None:
    smoke = push_update(client, make_update("ridge", OPENED, T0, score=0.7))
    settle(client)
    assert counts(hooks) == {"brigade": 0, "forestry": 0, "valley-watch": 0, "manual": 0}
    client.post(f"/api/events/{smoke}/confirm", json={})
    wait_until(lambda: len(hooks["forestry"].bodies()) == 1, what="the alert on confirm")
    sent = payload(hooks["forestry"])
    assert sent["automatic"] is True and sent["event"]["status"] == "confirmed"
    assert sent["message"].startswith("Automatic alert (confirmed): smoke")
    # A manual publish to every department later is a separate alert, also to forestry.
    client.post(f"/api/events/{smoke}/publish", json={"departments": "all", "message": "m"})
    wait_until(lambda: counts(hooks) == {"brigade": 1, "forestry": 2, "valley-watch": 1,
                                         "manual": 1})  # fmt: skip


def test_policy_thresholds_cameras_and_dismissals(
    client: TestClient, hooks: dict[str, Receiver]
) -> None:
    push_update(client, make_update("ridge", OPENED, T0, cls="flame", score=0.6))  # < 0.8
    low_smoke = push_update(client, make_update("ridge", OPENED, T0, score=0.4))  # < 0.5
    client.post(f"/api/events/{low_smoke}/confirm", json={})
    dismissed = push_update(client, make_update("valley", OPENED, T0, score=0.3))
    wait_until(lambda: len(hooks["valley-watch"].bodies()) == 1, what="the valley alert")
    client.post(f"/api/events/{dismissed}/dismiss", json={})
    push_update(client, make_update("valley", UPDATED, T0 + 9, score=0.9))
    settle(client)
    assert counts(hooks) == {"brigade": 0, "forestry": 0, "valley-watch": 1, "manual": 0}
