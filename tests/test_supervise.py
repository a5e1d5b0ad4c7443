"""Thread supervision: heartbeats, stalls, counted errors, and the health reasons from them."""

from __future__ import annotations

import logging

import pytest

from service.health import HealthReason, degraded_reasons
from service.record_queue import Backlog
from streams.state import SourceStats, StreamState
from streams.supervise import LOG_EVERY_S, Supervisor, ThreadStatus


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_thread_without_a_beat_for_its_intervals_is_stalled_unless_it_said_it_waits() -> None:
    clock = Clock()
    supervisor = Supervisor(clock=clock, stall_intervals=3)
    scorer = supervisor.heartbeat("scheduler", "scorer", 2.0)
    decoder = supervisor.heartbeat("cam-ridge", "decoder", 2.0)
    decoder.waiting(30.0)  # reconnect backoff
    clock.now += 6.0
    assert [s.stalled for s in supervisor.statuses()] == [False, False]
    clock.now += 0.5
    statuses = {s.name: s for s in supervisor.statuses()}
    assert statuses["scheduler"].stalled and statuses["scheduler"].age_s == 6.5
    assert not statuses["cam-ridge"].stalled
    scorer.beat()
    assert not any(s.stalled for s in supervisor.statuses())
    supervisor.retire(scorer)
    assert [s.name for s in supervisor.statuses()] == ["cam-ridge"]


def test_errors_are_counted_per_kind_and_logged_at_most_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    supervisor = Supervisor(clock=clock)
    beat = supervisor.heartbeat("recorder", "recorder", 1.0)
    with caplog.at_level(logging.ERROR, logger="streams.supervise"):
        for _ in range(3):
            beat.failed(ValueError("bad row"), "camera ridge smoke opened")
        clock.now += LOG_EVERY_S
        beat.failed(ValueError("bad row"), "camera ridge smoke closed")
    assert supervisor.errors() == {"recorder": 4}
    assert [r.getMessage() for r in caplog.records] == [
        "recorder thread recorder: camera ridge smoke opened failed: ValueError: bad row",
        "recorder thread recorder: camera ridge smoke closed failed: ValueError: bad row "
        "(2 more errors since the last report)",
    ]
    [status] = supervisor.statuses()
    assert status.error == "camera ridge smoke closed (ValueError)"
    beat.beat()  # the loop came round: still failing until a round succeeds
    assert supervisor.statuses()[0].error is not None
    beat.ok()
    assert supervisor.statuses()[0].error is None


def test_a_redacted_detail_replaces_the_error_text_and_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    beat = Supervisor().heartbeat("cam-ridge", "decoder", 5.0)
    with caplog.at_level(logging.ERROR, logger="streams.supervise"):
        beat.failed(OSError("rtsp://admin:hunter2@cam/1"), "camera ridge", detail="OSError: ***")
    [record] = caplog.records
    assert "hunter2" not in record.getMessage() and record.exc_info is None


def _thread(name: str, *, stalled: bool = False, error: str | None = None) -> ThreadStatus:
    return ThreadStatus(name, "scorer", 60.0 if stalled else 0.5, stalled, error)


def _camera(state: StreamState, error: str | None = None) -> SourceStats:
    return SourceStats("cam", state, "rtsp://cam", last_error=error)


@pytest.mark.parametrize(
    ("backlog", "reasons"),
    [
        (Backlog(0, 100, 0, None), []),
        (Backlog(49, 100, 0, 29.0), []),
        (
            Backlog(50, 100, 3, 2.0),
            [
                HealthReason(
                    "recorder_backlog",
                    "backlog 50 of 100, the oldest waiting 2 s; 3 score points dropped",
                )
            ],
        ),
        (
            Backlog(1, 100, 0, 31.0),
            [
                HealthReason(
                    "recorder_backlog",
                    "backlog 1 of 100, the oldest waiting 31 s; 0 score points dropped",
                )
            ],
        ),
    ],
)
def test_a_growing_backlog_degrades(backlog: Backlog, reasons: list[HealthReason]) -> None:
    assert degraded_reasons(storage="ok", threads=[], backlog=backlog, cameras=[]) == reasons


def test_stalled_and_failing_threads_and_most_cameras_failing_degrade() -> None:
    threads = [_thread("scheduler", stalled=True), _thread("recorder", error="x (KeyError)")]
    cameras = [
        _camera(StreamState.BACKOFF),
        _camera(StreamState.CONNECTING, "refused"),
        _camera(StreamState.STREAMING),
        _camera(StreamState.STOPPED),  # disabled: does not count
    ]
    reasons = degraded_reasons(storage="low", threads=threads, backlog=None, cameras=cameras)
    assert reasons == [
        HealthReason("storage_low", "little free space left"),
        HealthReason("thread_failing", "recorder: x (KeyError)"),
        HealthReason("thread_stalled", "scheduler: no heartbeat for 60 s"),
        HealthReason("cameras_failing", "2 of 3 cameras failing"),
    ]
    half = [_camera(StreamState.BACKOFF), _camera(StreamState.CONNECTING)]
    assert degraded_reasons(storage="ok", threads=[], backlog=None, cameras=half) == []
