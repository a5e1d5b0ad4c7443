"""The loopback RTSP test server: mounts, restart on the same port, authentication."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from benchmarks.rtsp import RtspServer, RtspServerError, unavailable_reason
from streams.config import StreamSettings
from streams.decode import StreamError, open_stream
from tests.fixtures.media import MakeRtspServer, SynthClips

SETTINGS = StreamSettings(open_timeout_s=5, read_timeout_s=5)  # type: ignore[call-arg]


def _first_frames(url: str, n: int = 3) -> list[av.VideoFrame]:
    frames = []
    with open_stream(url, SETTINGS) as container:
        for frame in container.decode(video=0):
            frames.append(frame)
            if len(frames) == n:
                break
    return frames


def test_session_server_serves_both_mounts(rtsp_server: RtspServer) -> None:
    assert rtsp_server.url("smoke") == f"rtsp://127.0.0.1:{rtsp_server.port}/smoke"
    for mount in ("smoke", "negative"):
        frames = _first_frames(rtsp_server.url(mount))
        assert len(frames) == 3
        assert (frames[0].width, frames[0].height) == (640, 360)
        assert frames[0].key_frame  # a client starts at a keyframe


def test_unknown_mount_is_rejected(rtsp_server: RtspServer) -> None:
    with pytest.raises(KeyError):
        rtsp_server.url("nope")
    url = rtsp_server.url("smoke").replace("/smoke", "/nope")
    with pytest.raises(StreamError, match="404"):
        open_stream(url, SETTINGS)


def test_restart_keeps_the_port(make_rtsp_server: MakeRtspServer) -> None:
    server = make_rtsp_server()
    port = server.port
    assert _first_frames(server.url("negative"), 1)
    server.stop()
    assert not server.running
    with pytest.raises(StreamError, match="Connection refused"):
        open_stream(server.url("negative"), SETTINGS)
    server.restart()
    assert server.port == port and server.running
    assert _first_frames(server.url("negative"), 1)


def test_many_mounts(make_rtsp_server: MakeRtspServer, synth_clips: SynthClips) -> None:
    mounts = {f"cam{i}": synth_clips.negative_h264 for i in range(4)}
    server = make_rtsp_server(mounts)
    for name in mounts:
        assert len(_first_frames(server.url(name), 1)) == 1


def test_credentials_are_required(make_rtsp_server: MakeRtspServer) -> None:
    server = make_rtsp_server(credentials=("viewer", "pa:ss@word!"))
    url = server.url("smoke")
    assert url.startswith("rtsp://viewer:pa%3Ass%40word%21@127.0.0.1:")
    assert _first_frames(url, 1)
    with pytest.raises(StreamError, match="401") as info:
        open_stream(server.url("smoke", with_credentials=False), SETTINGS)
    assert "word" not in str(info.value)
    wrong = url.replace("pa%3Ass%40word%21", "wrong-secret")
    with pytest.raises(StreamError, match="401") as info:
        open_stream(wrong, SETTINGS)
    assert "wrong-secret" not in str(info.value)


@pytest.mark.parametrize(
    ("mounts", "message"),
    [
        ({}, "at least one mount"),
        ({"a/b": Path("x.h264")}, "bad mount name"),
        ({"a": Path("x.mp4")}, "not a raw .h264"),
    ],
)
def test_bad_mounts(mounts: dict[str, Path], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RtspServer(mounts)


def test_missing_file_fails_to_start(tmp_path: Path, make_rtsp_server: MakeRtspServer) -> None:
    with pytest.raises(RtspServerError, match="bad mount"):
        make_rtsp_server({"gone": tmp_path / "gone.h264"})


def test_port_before_start_is_an_error() -> None:
    server = RtspServer({"a": Path("a.h264")})
    with pytest.raises(RtspServerError, match="not been started"):
        _ = server.port


def test_unavailable_reason_names_the_interpreter(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-python")
    assert missing in (unavailable_reason(missing) or "")
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'ImportError: no gi' >&2\nexit 1\n")
    fake.chmod(0o755)
    assert "no gi" in (unavailable_reason(str(fake)) or "")
