"""CameraSource against real files and a real RTSP server on loopback."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.rtsp import RtspServer
from streams.config import CameraConfig, DecodeMode, StreamSettings
from streams.frame import Frame
from streams.source import CameraSource
from streams.state import StreamState
from streams.supervise import Supervisor
from tests.fixtures.media import MakeRtspServer, SynthClips

FAST = StreamSettings(  # type: ignore[call-arg]
    open_timeout_s=3, read_timeout_s=2, backoff_initial_s=0.2, backoff_max_s=1.0
)


def wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
    """Poll ``predicate`` until it holds; False if it never did within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def take_frame(source: CameraSource, timeout: float = 15.0) -> Frame:
    got: list[Frame] = []

    def poll() -> bool:
        frame = source.take()
        if frame is not None:
            got.append(frame)
        return bool(got)

    assert wait_for(poll, timeout), f"no frame from {source.id}: {source.stats()}"
    return got[0]


@pytest.fixture
def sources() -> Iterator[Callable[..., CameraSource]]:
    """Factory of started sources, all stopped at the end of the test."""
    made: list[CameraSource] = []

    def make(url: str | Path, settings: StreamSettings = FAST, **kwargs: Any) -> CameraSource:
        kwargs.setdefault("id", f"cam{len(made)}")
        notify = kwargs.pop("notify", None)
        source = CameraSource(CameraConfig(url=str(url), **kwargs), settings, notify=notify)
        made.append(source)
        source.start()
        return source

    yield make
    for source in made:
        source.stop(timeout=10)


def test_rtsp_source_streams_and_switches_to_keyframes(
    rtsp_server: RtspServer, sources: Callable[..., CameraSource]
) -> None:
    # interval == GOP (2 s): AUTO measures the GOP, then decodes keyframes only.
    source = sources(rtsp_server.url("smoke"), id="smoke", interval_s=2.0)
    frame = take_frame(source)
    assert source.state == StreamState.STREAMING
    assert frame.camera_id == "smoke" and frame.image.shape == (360, 640, 3)
    assert abs(frame.ts - time.time()) < 60  # wall-clock epoch seconds
    assert any(t.name == "cam-smoke" for t in threading.enumerate())
    assert wait_for(lambda: source.stats().keyframes_only)
    source.take()  # may hold a frame sampled before the switch
    decoded = source.stats().decoded
    assert take_frame(source).keyframe
    stats = source.stats()
    assert stats.gop_s == pytest.approx(2.0, abs=0.05)
    assert stats.fps == pytest.approx(10.0, abs=0.5)
    # Keyframes only: one decoded frame per 2 s, and every one of them is analysed.
    assert stats.decoded - decoded <= stats.sampled
    assert stats.url == rtsp_server.url("smoke") and stats.last_error is None
    assert stats.last_frame_ts is not None and stats.reconnects == 0


def test_keyframe_mode_decodes_nothing_else(
    rtsp_server: RtspServer, sources: Callable[..., CameraSource]
) -> None:
    source = sources(rtsp_server.url("negative"), interval_s=0.5, decode=DecodeMode.KEYFRAMES)
    frames = [take_frame(source) for _ in range(2)]
    assert all(f.keyframe for f in frames)
    stats = source.stats()
    assert stats.keyframes_only
    assert stats.decoded == stats.sampled  # every decoded frame was a (sampled) keyframe


def test_server_restart_backoff_then_streaming(
    make_rtsp_server: MakeRtspServer,
    rtsp_server: RtspServer,
    sources: Callable[..., CameraSource],
) -> None:
    server = make_rtsp_server()
    source = sources(server.url("smoke"), id="flaky", interval_s=0.5)
    other = sources(rtsp_server.url("negative"), id="steady", interval_s=0.5)
    take_frame(source)
    take_frame(other)

    server.stop()
    assert wait_for(lambda: source.state == StreamState.BACKOFF)
    assert source.stats().last_error is not None
    assert wait_for(lambda: "Connection refused" in (source.stats().last_error or ""))

    server.start()  # same port, same URL
    restarted = time.time()
    assert wait_for(lambda: source.stats().reconnects >= 1)
    assert take_frame(source).ts >= restarted
    assert source.state == StreamState.STREAMING
    assert source.stats().last_error is None, "streaming again: the outage's error is cleared"
    # The other camera never noticed.
    assert other.state == StreamState.STREAMING and other.stats().reconnects == 0
    assert take_frame(other).ts >= restarted


def test_unreachable_url_backs_off_with_a_redacted_error(
    closed_tcp_port: int, sources: Callable[..., CameraSource], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="streams")
    url = f"rtsp://admin:hunter2@127.0.0.1:{closed_tcp_port}/live"
    slow = FAST.model_copy(update={"backoff_initial_s": 30.0, "backoff_max_s": 60.0})
    source = sources(url, slow, id="gone")
    assert wait_for(lambda: source.state == StreamState.BACKOFF)
    stats = source.stats()
    assert stats.last_error is not None and "Connection refused" in stats.last_error
    assert stats.url == f"rtsp://admin:***@127.0.0.1:{closed_tcp_port}/live"
    # stop() interrupts the 30 s backoff wait.
    source.stop(timeout=10)
    assert not source.running and source.state == StreamState.STOPPED
    text = caplog.text
    assert "hunter2" not in text + repr(stats)
    assert "camera gone: connecting -> backoff" in text
    assert "camera gone: backoff -> stopped" in text


def test_silent_server_times_out(sources: Callable[..., CameraSource]) -> None:
    with socket.socket() as listener:  # accepts connections (backlog), never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        settings = FAST.model_copy(update={"open_timeout_s": 1.0})
        source = sources(f"rtsp://u:secret1@127.0.0.1:{port}/x", settings)
        assert wait_for(lambda: source.state == StreamState.BACKOFF)
        error = source.stats().last_error or ""
        assert "timed out after 1 s" in error and "secret1" not in error


def test_stop_during_a_blocking_read(
    make_rtsp_server: MakeRtspServer, sources: Callable[..., CameraSource]
) -> None:
    server = make_rtsp_server()
    source = sources(server.url("negative"), interval_s=0.5)
    take_frame(source)
    server.pause()  # the connection stays open, no data arrives: the read blocks
    source.stop(timeout=2 * FAST.read_timeout_s + 5)
    assert not source.running
    assert source.state == StreamState.STOPPED


def test_a_hung_camera_times_out_and_is_reconnected(
    make_rtsp_server: MakeRtspServer, sources: Callable[..., CameraSource]
) -> None:
    server = make_rtsp_server()
    source = sources(server.url("negative"), interval_s=0.5)
    take_frame(source)
    server.pause()  # connected, silent: only the read timeout can end the read
    try:
        assert wait_for(lambda: source.state == StreamState.BACKOFF, 4 * FAST.read_timeout_s + 5)
    finally:
        server.resume()
    assert "timed out" in (source.stats().last_error or "")
    assert wait_for(lambda: source.stats().reconnects >= 1)
    take_frame(source)


def test_file_plays_to_the_end_and_stops(
    synth_clips: SynthClips, sources: Callable[..., CameraSource]
) -> None:
    notified: list[int] = []
    source = sources(
        synth_clips.negative_mp4,
        realtime=False,
        interval_s=1.0,
        notify=lambda: notified.append(1),
    )
    assert wait_for(lambda: source.state == StreamState.STOPPED)
    stats = source.stats()
    assert stats.decoded == synth_clips.frames
    assert stats.sampled == len(notified) >= 1
    assert stats.sampled == stats.dropped + 1  # nobody took: all but the last overwritten
    assert stats.last_error is None
    latest = source.latest()
    assert latest is not None and source.take() is latest


@pytest.mark.parametrize("kind", ["smoke_mp4", "smoke_h264"])  # a raw stream cannot seek
def test_looping_file_keeps_playing(
    synth_clips: SynthClips, sources: Callable[..., CameraSource], kind: str
) -> None:
    path = getattr(synth_clips, kind)
    source = sources(path, realtime=False, loop=True, interval_s=0.01)
    assert wait_for(lambda: source.stats().decoded > synth_clips.frames + 50)
    stats = source.stats()
    assert stats.state == StreamState.STREAMING and stats.reconnects == 0
    frame = source.latest()
    assert frame is not None


def test_realtime_file_is_paced_by_its_timestamps(
    synth_clips: SynthClips, sources: Callable[..., CameraSource]
) -> None:
    source = sources(synth_clips.smoke_mp4, realtime=True, interval_s=0.1)
    take_frame(source)
    time.sleep(1.0)
    # 10 fps: about 10 more frames in that second; as fast as possible would be all 300.
    assert source.stats().decoded < synth_clips.frames // 2
    assert source.state == StreamState.STREAMING


def test_corrupt_file_backs_off_with_the_file_name(
    tmp_path: Path, sources: Callable[..., CameraSource]
) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(bytes(range(256)) * 64)
    source = sources(bad)
    assert wait_for(lambda: source.state == StreamState.BACKOFF)
    # "<what>: <cause>": the file is named, not masked as if it were a password.
    assert (source.stats().last_error or "").startswith(f"{bad}: cannot open: ")


def test_unexpected_errors_never_escape_the_thread(
    synth_clips: SynthClips,
    sources: Callable[..., CameraSource],
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    def notify() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("scheduler exploded")

    with caplog.at_level(logging.WARNING, logger="streams.source"):
        source = sources(
            synth_clips.smoke_mp4, realtime=False, loop=True, interval_s=0.5, notify=notify
        )
        assert wait_for(lambda: source.stats().reconnects >= 1)
        assert wait_for(lambda: source.state == StreamState.STREAMING)
    # Reported when it happened; the next decoded frame clears last_error again, so the log
    # line is the record that lasts.
    assert f"camera cam0: {synth_clips.smoke_mp4}: RuntimeError: scheduler exploded" in caplog.text
    assert source.running


def test_an_unexpected_error_is_counted_and_the_decoder_beats_on(synth_clips: SynthClips) -> None:
    supervisor = Supervisor()
    calls: list[int] = []

    def notify() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("scheduler exploded")

    camera = CameraConfig(id="ridge", url=str(synth_clips.smoke_mp4), realtime=False, loop=True)
    source = CameraSource(camera, FAST, notify=notify, supervisor=supervisor)
    source.start()
    try:
        assert wait_for(lambda: len(calls) >= 3), "the decoder did not go on"
        assert supervisor.errors() == {"decoder": 1}
        [status] = supervisor.statuses()
        assert (status.name, status.kind, status.stalled) == ("cam-ridge", "decoder", False)
        assert wait_for(lambda: supervisor.statuses()[0].error is None)  # decoding again
    finally:
        source.stop(timeout=10)
    assert supervisor.statuses() == []


def test_lifecycle_guards(synth_clips: SynthClips) -> None:
    camera = CameraConfig(id="x", url=str(synth_clips.smoke_mp4))  # type: ignore[call-arg]
    idle = CameraSource(camera, FAST)
    idle.stop()
    assert idle.state == StreamState.STOPPED and not idle.running
    with pytest.raises(RuntimeError, match="already started or stopped"):
        idle.start()
    source = CameraSource(camera, FAST)
    source.start()
    try:
        with pytest.raises(RuntimeError, match="already started or stopped"):
            source.start()
        assert source.camera is camera and source.id == "x"
    finally:
        source.stop()
    assert source.state == StreamState.STOPPED
