"""The real service in a subprocess: SIGKILL while alerts are being retried loses nothing."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from alerts.departments import DepartmentSpec, DepartmentStore
from alerts.signing import verify_body
from detector.types import Transition
from store.accounts import AuthStore
from store.db import init_db, make_engine
from store.events import Decision, EventStore
from store.roles import Role
from tests.fixtures.app import T0, make_update
from tests.fixtures.service import start_service
from tests.fixtures.webhooks import FAST_PUBLISH, Receiver, free_port, wait_until

pytestmark = pytest.mark.slow

SECRET = "restart-secret-0123456789"


def seed(data_dir: Path, ports: dict[str, int]) -> tuple[int, str]:
    """A confirmed event, one department per port and an operator token, in the service's DB."""
    engine = make_engine(f"sqlite:///{data_dir / 'emberwatch.db'}")
    try:
        init_db(engine)
        events = EventStore(engine, data_dir / "snapshots")
        event_id = events.apply(make_update("cam", Transition.OPENED, T0))
        assert event_id is not None
        events.decide(event_id, Decision.CONFIRM, "ana")
        departments = DepartmentStore(engine)
        for name, port in ports.items():
            url = f"http://127.0.0.1:{port}/hook"
            departments.create(DepartmentSpec(name=name, webhook_url=url, secret=SECRET))
        auth = AuthStore(engine)
        auth.add_user("ana", Role.OPERATOR)
        return event_id, auth.issue_token("ana")
    finally:
        engine.dispose()


def test_sigkill_mid_retry_loses_no_alert(
    tmp_path: Path, plume_model_dir: Path, service_log: Path
) -> None:
    up = Receiver().start()
    down_ports = {f"down-{i}": free_port() for i in range(3)}
    data_dir = tmp_path / "data"
    event_id, token = seed(data_dir, {"up": up.port} | down_ports)
    config = tmp_path / "service.yaml"
    config.write_text(yaml.safe_dump({
        "cameras": [{"id": "cam", "url": str(tmp_path / "none.mp4"), "enabled": False}],
        "detector": {"model_dir": str(plume_model_dir)},
        "publish": FAST_PUBLISH,
    }))  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    receivers = [up]

    def deliveries(base: str) -> dict[str, Any]:
        url = f"{base}/api/events/{event_id}/deliveries"
        return {d["department"]: d for d in httpx.get(url, headers=headers).json()["deliveries"]}

    def retrying(base: str) -> dict[str, Any] | None:
        rows = deliveries(base)
        sent = rows["up"]["status"] == "delivered"
        return rows if sent and all(rows[n]["attempts"] >= 2 for n in down_ports) else None

    def all_delivered(base: str) -> dict[str, Any] | None:
        rows = deliveries(base)
        return rows if {r["status"] for r in rows.values()} == {"delivered"} else None

    try:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = start_service(config, data_dir, port, service_log)
        try:
            wait_until(lambda: _healthy(base), 60, "the service")
            published = httpx.post(f"{base}/api/events/{event_id}/publish", headers=headers,
                                   json={"departments": "all", "message": "kill test"})  # fmt: skip
            assert published.status_code == 202, published.text
            before = wait_until(lambda: retrying(base), what="retries in progress")
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        assert {before[n]["status"] for n in down_ports} == {"failing"}

        receivers += [Receiver(port=p).start() for p in down_ports.values()]
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = start_service(config, data_dir, port, service_log)
        try:
            wait_until(lambda: _healthy(base), 60, "the restarted service")
            after = wait_until(lambda: all_delivered(base), what="delivery after the restart")
        finally:
            proc.terminate()
            proc.wait(10)
        for name, receiver in zip(["up", *down_ports], receivers, strict=True):
            (got,) = receiver.bodies()  # exactly once each, also for the one sent before
            assert verify_body(SECRET, got.body, got.headers["x-emberwatch-signature"])
            body = json.loads(got.body)
            assert body["delivery"]["id"] == before[name]["id"] == after[name]["id"]
            assert body["message"] == "kill test" and body["event"]["id"] == event_id
    finally:
        for receiver in receivers:
            receiver.stop()


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz").status_code == 200
    except httpx.HTTPError:
        return False
