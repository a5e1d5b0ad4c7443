"""Opening and decoding real files with PyAV: clip reader, keyframe-only mode, bad input."""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from streams.config import DecodeMode, StreamSettings
from streams.decode import StreamError, is_network_url, iter_decoded, open_stream, read_clip
from streams.keyframes import DecodeCounters, KeyframePolicy
from tests.fixtures.media import SynthClips


def _summary(path: Path, **kwargs: float) -> list[tuple[int, float, bool]]:
    frames = read_clip(path, camera_id="cam", **kwargs)  # type: ignore[arg-type]
    return [(f.index, f.ts, f.keyframe) for f in frames]


def test_read_clip_samples_on_clip_time_deterministically(synth_clips: SynthClips) -> None:
    first = list(read_clip(synth_clips.smoke_mp4, camera_id="cam", interval_s=1.0))
    again = list(read_clip(synth_clips.smoke_mp4, camera_id="cam", interval_s=1.0))
    assert [f.index for f in first] == list(range(0, 300, 10))
    assert [f.ts for f in first] == pytest.approx([i / 10 for i in range(0, 300, 10)])
    assert [(f.index, f.ts) for f in first] == [(f.index, f.ts) for f in again]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(first, again, strict=True))
    frame = first[3]
    assert frame.camera_id == "cam"
    assert frame.image.shape == (360, 640, 3) and frame.image.dtype == np.uint8
    assert [f.keyframe for f in first[:4]] == [True, False, True, False]  # GOP of 20 frames


def test_read_clip_uses_real_seconds_per_frame(synth_clips: SynthClips) -> None:
    # A time-lapse camera: one stored frame every 2 s of real time.
    got = _summary(synth_clips.negative_mp4, interval_s=10.0, seconds_per_frame=2.0)
    assert [i for i, _, _ in got] == list(range(0, 300, 5))
    assert [ts for _, ts, _ in got] == pytest.approx([2.0 * i for i in range(0, 300, 5)])


def test_read_clip_loops_until_min_seconds(synth_clips: SynthClips) -> None:
    frames = list(
        read_clip(synth_clips.smoke_mp4, camera_id="c", interval_s=10.0, min_seconds=75.0)
    )
    assert [f.index for f in frames] == list(range(0, 750, 100))
    assert frames[-1].ts == pytest.approx(70.0)
    # Position 400 is frame 100 again: the same picture, on a continuing clock.
    assert np.array_equal(frames[1].image, frames[4].image)
    assert not np.array_equal(frames[1].image, frames[2].image)
    again = list(read_clip(synth_clips.smoke_mp4, camera_id="c", interval_s=30.0, min_seconds=60))
    assert [f.index for f in again] == [0, 300]
    assert np.array_equal(again[0].image, again[1].image)


def test_read_clip_does_not_loop_when_long_enough(synth_clips: SynthClips) -> None:
    got = _summary(synth_clips.smoke_mp4, interval_s=10.0, min_seconds=12.0)
    assert [i for i, _, _ in got] == [0, 100, 200]


def test_read_clip_raw_stream_needs_seconds_per_frame(synth_clips: SynthClips) -> None:
    got = _summary(synth_clips.smoke_h264, interval_s=5.0, seconds_per_frame=0.1)
    assert [i for i, _, _ in got] == list(range(0, 300, 50))


def _decode_all(path: Path, mode: DecodeMode, interval: float) -> tuple[list[int], DecodeCounters]:
    counters = DecodeCounters()
    policy = KeyframePolicy(mode, interval, counters)
    with open_stream(str(path)) as container:
        keys = [
            i for i, _, frame in iter_decoded(container, policy, name=str(path)) if frame.key_frame
        ]
    return keys, counters


def test_keyframes_only_decodes_one_frame_per_gop(synth_clips: SynthClips) -> None:
    keys, counters = _decode_all(synth_clips.smoke_mp4, DecodeMode.KEYFRAMES, 1.0)
    gops = synth_clips.frames // synth_clips.gop
    assert counters.decoded == gops  # nothing but keyframes came out of the decoder
    assert keys == list(range(0, synth_clips.frames, synth_clips.gop))  # positions from pts
    assert counters.keyframes_only and counters.gop_s == pytest.approx(2.0)


def test_raw_stream_without_timestamps_gets_positions_from_packets(
    synth_clips: SynthClips,
) -> None:
    counters = DecodeCounters()
    policy = KeyframePolicy(DecodeMode.KEYFRAMES, 1.0, counters)
    with open_stream(str(synth_clips.smoke_h264)) as container:
        got = [(i, t) for i, t, _ in iter_decoded(container, policy, name="raw")]
    expected = list(range(0, synth_clips.frames, synth_clips.gop))
    assert [i for i, _ in got] == expected
    # A raw stream declares no rate; FFmpeg assumes 25 fps.
    assert [t for _, t in got] == pytest.approx([i / 25 for i in expected])


def test_auto_switches_to_keyframes_after_measuring_the_gop(synth_clips: SynthClips) -> None:
    _, counters = _decode_all(synth_clips.smoke_mp4, DecodeMode.AUTO, 5.0)
    gop, n = synth_clips.gop, synth_clips.frames
    # Every frame up to the second keyframe, then only the remaining keyframes.
    assert counters.decoded == (gop + 1) + (n // gop - 2)
    assert counters.keyframes_only
    assert counters.fps == pytest.approx(10.0)


def test_auto_keeps_every_frame_for_short_intervals(synth_clips: SynthClips) -> None:
    _, counters = _decode_all(synth_clips.smoke_mp4, DecodeMode.AUTO, 1.0)
    assert counters.decoded == synth_clips.frames
    assert not counters.keyframes_only


def _faststart_copy(src: Path, dst: Path) -> Path:
    """Remux ``src`` with the index at the front, so a truncated copy still opens."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.size:
                packet.stream = stream
                out.mux(packet)
    return dst


def test_truncated_mp4_yields_what_decodes_then_names_the_file(
    synth_clips: SynthClips, tmp_path: Path
) -> None:
    whole = _faststart_copy(synth_clips.smoke_mp4, tmp_path / "whole.mp4")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    got: list[int] = []
    with pytest.raises(StreamError, match=r"cut\.mp4: (decode failed|truncated)"):
        for frame in read_clip(cut, camera_id="c", interval_s=0.1):
            got.append(frame.index)
    assert 10 < len(got) < 300
    assert got == list(range(len(got)))


def test_corrupt_mp4_raises_after_good_frames(synth_clips: SynthClips, tmp_path: Path) -> None:
    data = bytearray(synth_clips.smoke_mp4.read_bytes())
    rng = random.Random(0)
    for i in range(len(data) // 2, len(data) // 2 + 20_000, 50):
        data[i] = rng.randrange(256)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(bytes(data))
    got: list[int] = []
    with pytest.raises(StreamError, match=r"bad\.mp4: decode failed after frame \d+"):
        for frame in read_clip(bad, camera_id="c", interval_s=0.1):
            got.append(frame.index)
    assert len(got) > 10


def test_truncated_raw_stream_just_ends(synth_clips: SynthClips, tmp_path: Path) -> None:
    cut = tmp_path / "cut.h264"
    cut.write_bytes(synth_clips.smoke_h264.read_bytes()[:200_000])
    got = _summary(cut, interval_s=0.1, seconds_per_frame=0.1)
    assert 0 < len(got) < 300


def test_an_unknown_host_is_named_as_such() -> None:
    """FFmpeg alone says "Input/output error"; the host is looked up first (.invalid never
    resolves)."""
    with pytest.raises(StreamError) as info:
        open_stream("rtsp://viewer:hunter2@camera.example.invalid:554/live")
    message = str(info.value)
    assert message.endswith("cannot open: cannot resolve host 'camera.example.invalid'")
    assert "hunter2" not in message


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "No such file or directory"),
        (b"", "cannot open: empty file \\(0 bytes\\)"),
        (bytes(range(256)) * 64, r"cannot open: not a video \(Invalid data"),
    ],
)
def test_unreadable_files_raise_stream_error(
    tmp_path: Path, content: bytes | None, reason: str
) -> None:
    path = tmp_path / "clip.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(StreamError, match=reason) as info:
        list(read_clip(path, camera_id="c", interval_s=1.0))
    assert str(info.value).startswith(f"{path}: "), "<what>: <cause>, the file named"


def test_audio_only_file_has_no_video_stream(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 800), np.int16), format="s16", layout="mono"
        )
        frame.sample_rate, frame.pts, frame.time_base = 8000, 0, Fraction(1, 8000)
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with pytest.raises(StreamError, match="no video stream"):
        open_stream(str(path))


def test_unreachable_rtsp_error_is_clear_and_redacted(closed_tcp_port: int) -> None:
    url = f"rtsp://admin:hunter2@127.0.0.1:{closed_tcp_port}/live?token=abc123"
    settings = StreamSettings(open_timeout_s=2, read_timeout_s=2)  # type: ignore[call-arg]
    with pytest.raises(StreamError) as info:
        open_stream(url, settings)
    message = str(info.value)
    assert "Connection refused" in message
    assert f"127.0.0.1:{closed_tcp_port}" in message
    assert "hunter2" not in message and "abc123" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize(
    ("url", "network"),
    [
        ("rtsp://h/x", True),
        ("RTSPS://h/x", True),
        ("http://h/x.m3u8", True),
        ("file:///tmp/x.mp4", False),
        ("/tmp/x.mp4", False),
        ("clips/x.mp4", False),
        ("C:/clips/x.mp4", False),
    ],
)
def test_is_network_url(url: str, network: bool) -> None:
    assert is_network_url(url) is network


def test_stream_error_redacts_url_and_reason() -> None:
    err = StreamError("rtsp://u:pw123@h/x", "failed for 'rtsp://u:pw123@h/x' (pw123)")
    assert "pw123" not in str(err)
    assert err.url == "rtsp://u:***@h/x"
