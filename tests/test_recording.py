"""The recorder thread: scoring never waits on storage, and recording survives its errors."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import make_sink
from detector.config import DetectorConfig, SmoothingConfig
from detector.types import EventUpdate, Transition
from service.config import AppConfig
from service.metrics import Metrics
from service.pipeline import Pipeline
from service.recording import Recorder
from store.db import init_db, make_engine
from store.events import EventStore
from streams.config import CameraConfig
from streams.supervise import Supervisor
from tests.fixtures.app import T0, make_update
from tests.fixtures.media import SynthClips

BLOCKED_S = 5.0
FAST_SMOOTHING = SmoothingConfig(tau_s=1.0, min_persistence_s=1.0, quiet_s=5.0)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def write_locked(database: Path) -> Iterator[None]:
    """Another connection holds SQLite's write lock: the store's commits wait for it."""
    other = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


def camera(cam_id: str, clip: Path) -> CameraConfig:
    return CameraConfig(id=cam_id, url=str(clip), loop=True, interval_s=0.5)


def test_a_store_blocked_for_5_seconds_does_not_stop_scoring(
    tmp_path: Path, plume_model_dir: Path, synth_clips: SynthClips
) -> None:
    database = tmp_path / "events.db"
    engine = make_engine(f"sqlite:///{database}")
    init_db(engine)
    store = EventStore(engine, tmp_path / "snapshots")
    storing, stored = threading.Event(), threading.Event()
    sink = make_sink(store, Metrics())

    def record(update: EventUpdate) -> None:
        storing.set()
        sink(update)
        stored.set()

    supervisor = Supervisor()
    recorder = Recorder(record, supervisor)
    config = AppConfig(
        data_dir=tmp_path / "data",
        cameras=[camera("ridge", synth_clips.smoke_mp4), camera("valley", synth_clips.smoke_mp4)],
        detector=DetectorConfig(model_dir=plume_model_dir, batch_timeout_s=0.01),
        smoothing=FAST_SMOOTHING,
    )
    pipe = Pipeline(config, recorder.submit, supervisor=supervisor)
    try:
        with write_locked(database):
            recorder.start()
            pipe.start()
            wait_until(storing.is_set, 60, "the first event to reach the blocked store")
            blocked_at = time.monotonic()
            before = {v.config.id: v.analysed for v in pipe.cameras()}
            wait_until(
                lambda: all(v.analysed >= before[v.config.id] + 2 for v in pipe.cameras()),
                BLOCKED_S,
                "every camera scored while the store is blocked",
            )
            assert not stored.is_set(), "the store was not blocked"
            time.sleep(max(0.0, blocked_at + BLOCKED_S - time.monotonic()))
        assert recorder.drain(30)
        assert stored.is_set()
        assert store.list_events()[1] >= 1
    finally:
        pipe.stop()
        recorder.stop()
        engine.dispose()


def _thread_errors(client: TestClient, kind: str) -> float:
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == "emberwatch_thread_errors_total" and sample.labels == {
                "thread": kind
            }:
                return sample.value
    return 0.0


def test_an_error_while_recording_is_counted_shown_and_survived(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = client.app.state  # type: ignore[attr-defined]
    recorder, store = state.recorder, state.store

    def broken(*_args: object, **_kw: object) -> None:
        raise RuntimeError("injected")

    with monkeypatch.context() as patch:
        patch.setattr(store.snapshots, "write", broken)
        recorder.submit(make_update("ridge", Transition.OPENED, T0))
        assert recorder.drain(10)
    assert _thread_errors(client, "recorder") == 1
    body = client.get("/healthz").json()
    assert body["status"] == "degraded"
    assert body["reasons"] == [
        {"code": "thread_failing", "detail": "recorder: camera ridge smoke opened (RuntimeError)"}
    ]

    recorder.submit(make_update("valley", Transition.OPENED, T0 + 1))
    recorder.submit(make_update("valley", Transition.CLOSED, T0 + 5, frame=None))
    assert recorder.drain(10)
    assert client.get("/healthz").json()["status"] == "ok"
    [event] = client.get("/api/events").json()["items"]
    assert event["camera_id"] == "valley" and event["ended_at"] is not None
    assert _thread_errors(client, "recorder") == 1
