"""App lifecycle, health, metrics, OpenAPI, and several apps in one process."""

from __future__ import annotations

import re
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from api.app import create_app
from detector.types import Transition
from service.config import AppConfig
from store.db import EventRow
from store.events import EventStore
from store.health import low_threshold
from store.roles import Role
from streams.state import StreamState
from tests.fixtures.app import (
    T0,
    FakePipeline,
    authorize,
    camera_configs,
    make_update,
    push_update,
)


def _sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text, or None when absent."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if match and match.group(1) == name:
            got = ",".join(sorted((match.group(2) or "").split(","))) if match.group(2) else ""
            if got == want:
                return float(match.group(3))
    return None


def test_lifespan_starts_and_stops_the_pipeline(app_config: AppConfig) -> None:
    fake = FakePipeline(app_config.cameras)
    with TestClient(create_app(app_config, pipeline=fake)):
        assert (fake.started, fake.stopped) == (1, 0)
    assert (fake.started, fake.stopped) == (1, 1)
    assert (app_config.data_dir / "emberwatch.db").is_file()


def test_healthz(client: TestClient, fake_pipeline: FakePipeline) -> None:
    fake_pipeline.set_stats("ridge", state=StreamState.STREAMING)
    fake_pipeline.set_stats("valley", state=StreamState.BACKOFF)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body.pop("free_bytes"), int)
    assert body == {
        "status": "ok",
        "reasons": [],
        "recorder": {"depth": 0, "capacity": 256, "dropped": 0, "oldest_age_s": None},
        "database": "ok",
        "cameras": {"streaming": 1, "backoff": 1},
        "storage": "ok",
    }


def test_healthz_is_degraded_while_most_cameras_fail(
    client: TestClient, fake_pipeline: FakePipeline
) -> None:
    fake_pipeline.set_stats("ridge", state=StreamState.BACKOFF)
    fake_pipeline.set_stats("valley", state=StreamState.BACKOFF)
    response = client.get("/healthz")
    assert response.status_code == 200  # degraded still serves: monitoring reads the body
    assert response.json()["status"] == "degraded"
    assert response.json()["reasons"] == [
        {"code": "cameras_failing", "detail": "2 of 2 cameras failing"}
    ]
    fake_pipeline.set_stats("valley", state=StreamState.STREAMING)
    assert client.get("/healthz").json()["status"] == "ok"


def test_failing_writes_make_health_degraded_until_one_succeeds(client: TestClient) -> None:
    health = client.app.state.store.health  # type: ignore[attr-defined]
    health.failed("snapshot", "No space left on device")
    body = client.get("/healthz").json()
    assert (body["status"], body["storage"]) == ("degraded", "failing")
    assert (
        'emberwatch_storage_write_errors_total{kind="snapshot"} 1.0' in client.get("/metrics").text
    )
    health.succeeded("snapshot")
    assert client.get("/healthz").json()["status"] == "ok"


def test_low_space_threshold() -> None:
    assert low_threshold(16 * 1024 * 1024) == int(16 * 1024 * 1024 * 0.05)
    assert low_threshold(10**12) == 100 * 1024 * 1024


def test_healthz_and_reads_when_the_database_is_unreachable(
    client: TestClient, tmp_path: Path
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the database directory should be")
    bad = create_engine(f"sqlite:///{blocker / 'events.db'}")
    client.app.state.store = EventStore(bad, tmp_path / "snaps")  # type: ignore[attr-defined]
    try:
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["status"] == "error"
        assert response.json()["database"] == "unreachable"
        events = client.get("/api/events")
        assert events.status_code == 503
        assert events.json() == {"detail": "the database is unavailable"}
    finally:
        bad.dispose()


def test_metrics(client: TestClient, fake_pipeline: FakePipeline) -> None:
    fake_pipeline.set_stats(
        "ridge", state=StreamState.STREAMING, decoded=900, sampled=36, dropped=2, reconnects=1,
        last_frame_ts=time.time() - 3,
    )  # fmt: skip
    fake_pipeline.set_analysis("ridge", 34, 0.25, {"smoke": 0.1})
    metrics = client.app.state.metrics  # type: ignore[attr-defined]
    metrics.observe_batch(2, 24, {"preprocess": 0.004, "inference": 0.03, "postprocess": 0.001})
    push_update(client, make_update("ridge", Transition.OPENED, T0))
    push_update(client, make_update("ridge", Transition.UPDATED, T0 + 5))
    push_update(client, make_update("ridge", Transition.CLOSED, T0 + 9, frame=None))

    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    for name, value in [
        ("emberwatch_frames_decoded_total", 900),
        ("emberwatch_frames_sampled_total", 36),
        ("emberwatch_frames_dropped_total", 2),
        ("emberwatch_frames_analysed_total", 34),
        ("emberwatch_reconnects_total", 1),
        ("emberwatch_camera_lag_seconds", 0.25),
    ]:
        assert _sample(text, name, camera="ridge") == value, name
    assert _sample(text, "emberwatch_frames_decoded_total", camera="valley") == 0
    age = _sample(text, "emberwatch_camera_last_frame_age_seconds", camera="ridge")
    assert age is not None and 3 <= age < 60
    assert _sample(text, "emberwatch_camera_last_frame_age_seconds", camera="valley") is None
    assert _sample(text, "emberwatch_camera_state", camera="ridge", state="streaming") == 1
    assert _sample(text, "emberwatch_camera_state", camera="ridge", state="backoff") == 0
    assert _sample(text, "emberwatch_camera_state", camera="valley", state="connecting") == 1
    for transition in ("opened", "updated", "closed"):
        labels = {"camera": "ridge", "cls": "smoke", "transition": transition}
        assert _sample(text, "emberwatch_events_total", **labels) == 1
    assert _sample(text, "emberwatch_batch_frames_count") == 1
    assert _sample(text, "emberwatch_batch_frames_sum") == 2
    assert _sample(text, "emberwatch_batch_inputs_sum") == 24
    assert _sample(text, "emberwatch_batch_stage_seconds_count", stage="inference") == 1
    # The app's own threads and the recorder's queue.
    assert _sample(text, "emberwatch_thread_errors_total", thread="recorder") == 0
    assert _sample(text, "emberwatch_thread_errors_total", thread="alert_sender") == 0
    beat = _sample(
        text, "emberwatch_thread_heartbeat_age_seconds", thread="recorder", kind="recorder"
    )
    assert beat is not None and beat >= 0
    assert _sample(text, "emberwatch_threads_stalled") == 0
    assert _sample(text, "emberwatch_recorder_queue_depth") == 0
    assert _sample(text, "emberwatch_recorder_queue_capacity") == 256
    assert _sample(text, "emberwatch_recorder_dropped_total") == 0
    assert _sample(text, "emberwatch_recorder_oldest_age_seconds") == 0


def test_two_apps_in_one_process_do_not_clash(tmp_path: Path) -> None:
    configs = [
        AppConfig(data_dir=tmp_path / name, cameras=camera_configs(tmp_path)) for name in "ab"
    ]
    fakes = [FakePipeline(c.cameras) for c in configs]
    apps = [create_app(c, pipeline=f) for c, f in zip(configs, fakes, strict=True)]
    with TestClient(apps[0]) as a, TestClient(apps[1]) as b:
        authorize(a, "ana", Role.VIEWER)
        authorize(b, "bo", Role.VIEWER)
        fakes[0].set_stats("ridge", decoded=11)
        fakes[1].set_stats("ridge", decoded=22)
        push_update(a, make_update("ridge", Transition.OPENED, T0))
        events_a, events_b = a.get("/metrics").text, b.get("/metrics").text
        assert _sample(events_a, "emberwatch_frames_decoded_total", camera="ridge") == 11
        assert _sample(events_b, "emberwatch_frames_decoded_total", camera="ridge") == 22
        labels = {"camera": "ridge", "cls": "smoke", "transition": "opened"}
        assert _sample(events_a, "emberwatch_events_total", **labels) == 1
        assert _sample(events_b, "emberwatch_events_total", **labels) is None
        assert a.get("/api/events").json()["total"] == 1
        assert b.get("/api/events").json()["total"] == 0


def test_restart_keeps_events_and_closes_stale_ones(app_config: AppConfig) -> None:
    with TestClient(create_app(app_config, pipeline=FakePipeline(app_config.cameras))) as first:
        authorize(first, "ana", Role.OPERATOR)
        event_id = push_update(first, make_update("ridge", Transition.OPENED, T0))
        push_update(first, make_update("ridge", Transition.UPDATED, T0 + 40, is_peak=True))
        assert first.get(f"/api/events/{event_id}").json()["active"] is True
    with TestClient(create_app(app_config, pipeline=FakePipeline(app_config.cameras))) as second:
        authorize(second, "ana", Role.OPERATOR)
        event = second.get(f"/api/events/{event_id}").json()
        assert event["active"] is False and event["ended_at"] == "2026-06-01T12:00:40Z"
        assert second.get(event["snapshot_url"]).status_code == 200
        confirmed = second.post(f"/api/events/{event_id}/confirm", json={})
        assert confirmed.status_code == 200 and confirmed.json()["operator"] == "ana"


def test_openapi_documents_every_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    expected = {
        ("get", "/api/events"),
        ("get", "/api/events/{event_id}"),
        ("get", "/api/events/{event_id}/snapshot.jpg"),
        ("post", "/api/events/{event_id}/confirm"),
        ("post", "/api/events/{event_id}/dismiss"),
        ("get", "/api/cameras"),
        ("get", "/api/cameras/{camera_id}"),
        ("get", "/api/cameras/{camera_id}/latest.jpg"),
        ("get", "/healthz"),
        ("get", "/metrics"),
    }
    found = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert expected <= found, expected - found
    for method, path in found:
        op = spec["paths"][path][method]
        assert op.get("summary"), (method, path)
        assert any(code.startswith("2") for code in op["responses"]), (method, path)
    confirm = spec["paths"]["/api/events/{event_id}/confirm"]["post"]["responses"]
    assert {"404", "409", "422"} <= set(confirm)
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_store_error_during_request_is_a_clean_503(client: TestClient) -> None:
    store = client.app.state.store  # type: ignore[attr-defined]
    with store.engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE {EventRow.__tablename__}")
    response = client.get("/api/events/1")
    assert response.status_code == 503
    assert response.json() == {"detail": "the database is unavailable"}
