"""The same service on PostgreSQL: a URL change, not a rewrite."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from detector.types import Reason, Transition
from service.config import AppConfig
from store.roles import Role
from tests.fixtures.app import FakePipeline, authorize, camera_configs, make_update, push_update

T0 = 1_780_000_000.0


def app_on(url: str, tmp_path: Path) -> tuple[AppConfig, FakePipeline]:
    config = AppConfig(
        data_dir=tmp_path / "data",
        cameras=camera_configs(tmp_path),
        storage={"database_url": url},  # type: ignore[arg-type]
    )
    return config, FakePipeline(config.cameras)


def test_events_decisions_and_restart_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    config, pipeline = app_on(postgres_url, tmp_path)
    with TestClient(create_app(config, pipeline=pipeline)) as client:
        authorize(client, "pg-admin", Role.ADMIN)
        first = push_update(client, make_update("ridge", Transition.OPENED, T0))
        push_update(client, make_update("ridge", Transition.UPDATED, T0 + 30, score=0.9,
                                        peak_score=0.9, is_peak=True))  # fmt: skip
        second = push_update(client, make_update("valley", Transition.OPENED, T0 + 60))
        assert first is not None and second is not None
        listed = client.get("/api/events", params={"camera": "ridge"}).json()
        assert [e["id"] for e in listed["items"]] == [first]
        assert listed["items"][0]["peak_score"] == 0.9
        snap = client.get(f"/api/events/{first}/snapshot.jpg")
        assert snap.status_code == 200 and snap.content[:2] == b"\xff\xd8"
        assert client.post(f"/api/events/{first}/confirm", json={"note": "pg"}).status_code == 200
        assert client.post(f"/api/events/{first}/confirm", json={}).status_code == 409
        grown = push_update(client, make_update("ridge", Transition.OPENED, T0 + 90, track=2,
                                                parent_track=0, reason=Reason.GREW))  # fmt: skip
        assert client.get(f"/api/events/{grown}").json()["parent_id"] == first
        assert client.post(f"/api/events/{second}/dismiss", json={}).status_code == 200

    config, pipeline = app_on(postgres_url, tmp_path)  # a restart on the same database
    with TestClient(create_app(config, pipeline=pipeline)) as client:
        authorize(client, "pg-admin", Role.ADMIN)
        after = client.get(f"/api/events/{second}").json()
        assert after["ended_at"] is not None  # closed by the restart, not lost
        assert client.get(f"/api/events/{first}").json()["status"] == "confirmed"
        (mute,) = client.get("/api/mutes").json()  # the dismissal's mute outlived the restart
        assert (mute["event_id"], mute["created_by"]) == (second, "pg-admin")
        assert client.post(f"/api/mutes/{mute['id']}/lift").json()["lifted_by"] == "pg-admin"
        assert pipeline.mutes["valley"] == []
