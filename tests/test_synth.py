"""Synthetic footage: deterministic, grey-brown plume only in positive clips, valid H.264."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest

from benchmarks.synth import SynthSpec, main, render_frame, write_clip, write_clip_pair


def smoke_like(img: np.ndarray) -> np.ndarray:
    """Mask of grey-brown pixels: red >= green >= blue, warm, mid brightness (H x W bool)."""
    r, g, b = (img[..., i].astype(np.int16) for i in range(3))
    return (r >= g) & (g >= b) & (r - b >= 8) & (r >= 100) & (r <= 200)


SMALL = SynthSpec(width=320, height=180)


def test_render_is_deterministic_and_rgb_uint8() -> None:
    spec = replace(SMALL, plume_start_s=1.0)
    a, b = render_frame(spec, 7.3), render_frame(spec, 7.3)
    assert a.shape == (180, 320, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, render_frame(replace(SMALL, plume_start_s=1.0, seed=1), 7.3))


def test_scene_colours() -> None:
    img = render_frame(SynthSpec(plume_start_s=None, clouds=False, haze=False), 0.0)
    top = img[2].mean(axis=0)
    bottom = img[-5].mean(axis=0)
    assert np.allclose(top, (110, 150, 210), atol=15)  # sky
    assert bottom[1] > bottom[0] > bottom[2]  # green-brown hills, never grey-brown


def test_plume_appears_at_start_and_grows() -> None:
    spec = replace(SMALL, plume_start_s=3.0)
    before = smoke_like(render_frame(spec, 2.9)).sum()
    counts = [int(smoke_like(render_frame(spec, t)).sum()) for t in (4.0, 8.0, 13.0, 23.0)]
    assert before == 0
    assert counts[0] > 0
    assert counts[0] < counts[1] < counts[2] and counts[2] > 3 * counts[0]
    # At full size the core is close to the smoke colour.
    img = render_frame(spec, 23.0)
    core = img[smoke_like(img)].astype(np.int16)
    assert np.abs(core - (150, 138, 125)).sum(axis=1).min() < 25


@pytest.mark.parametrize("t", [0.0, 6.0, 12.5, 21.0, 29.9])
def test_negative_clip_has_clouds_and_haze_but_no_grey_brown(t: float) -> None:
    spec = replace(SMALL, plume_start_s=None)
    img = render_frame(spec, t)
    assert smoke_like(img).sum() == 0
    white = (img.min(axis=2) > 215).sum()
    assert white > 50  # some cloud is in view


def test_negative_haze_varies_but_stays_light() -> None:
    spec = replace(SMALL, plume_start_s=None, clouds=False)
    clear = render_frame(replace(SMALL, plume_start_s=None, clouds=False, haze=False), 0.0)
    diffs = [
        float(np.abs(render_frame(spec, t).astype(int) - clear).mean()) for t in range(0, 45, 5)
    ]
    assert max(diffs) - min(diffs) > 3  # the haze changes over time
    assert max(diffs) < 0.3 * 255 * 0.6  # blend of at most 0.3 towards a light colour


def _decode(path: Path) -> tuple[int, list[int], tuple[int, int], float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        keys, n = [], 0
        for frame in container.decode(stream):
            if frame.key_frame:
                keys.append(n)
            n += 1
        rate = float(stream.average_rate or stream.guessed_rate or 0)
        return n, keys, (stream.codec_context.width, stream.codec_context.height), rate


@pytest.mark.parametrize("suffix", [".mp4", ".h264"])
def test_write_clip_fixed_gop(tmp_path: Path, suffix: str) -> None:
    spec = replace(SMALL, fps=10, seconds=3.0, gop=7, plume_start_s=0.5)
    path = write_clip(tmp_path / f"sub/clip{suffix}", spec)
    n, keys, size, rate = _decode(path)
    assert n == 30
    assert keys == list(range(0, 30, 7))
    assert size == (320, 180)
    if suffix == ".mp4":
        assert rate == pytest.approx(10.0)
        with path.open("rb") as fh:
            assert fh.read(12)[4:8] == b"ftyp"
    else:
        assert path.read_bytes()[:4] == b"\x00\x00\x00\x01"  # Annex-B start code


def test_clip_pair_holds_the_same_pictures(tmp_path: Path) -> None:
    spec = replace(SMALL, fps=5, seconds=2.0, gop=4, plume_start_s=0.0)
    raw, mp4 = write_clip_pair(spec, tmp_path / "a.h264", tmp_path / "b/a.mp4")
    n, keys, size, rate = _decode(mp4)
    assert (n, keys, size) == (10, [0, 4, 8], (320, 180))
    assert rate == pytest.approx(5.0)
    with av.open(str(raw)) as a, av.open(str(mp4)) as b:
        pics_a = [f.to_ndarray(format="rgb24") for f in a.decode(video=0)]
        decoded_b = list(b.decode(video=0))
    assert all(
        np.array_equal(x, y.to_ndarray(format="rgb24"))
        for x, y in zip(pics_a, decoded_b, strict=True)
    )
    assert [f.time for f in decoded_b] == pytest.approx([i / 5 for i in range(10)])


def test_write_clip_content_matches_render(tmp_path: Path) -> None:
    spec = replace(SMALL, fps=5, seconds=2.0, plume_start_s=0.0)
    path = write_clip(tmp_path / "c.mp4", spec)
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    err = np.abs(frames[7].astype(int) - render_frame(spec, 7 / 5)).mean()
    assert err < 6  # lossy, but the same picture


def test_odd_size_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="even"):
        write_clip(tmp_path / "x.mp4", SynthSpec(width=321, height=180, seconds=0.2))


def test_cli_writes_a_negative_clip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "neg.mp4"
    main(
        [str(out), "--seconds", "1", "--negative", "--width", "160", "--height", "96", "--fps", "4"]
    )
    assert capsys.readouterr().out.strip() == str(out)
    n, keys, size, _ = _decode(out)
    assert (n, keys, size) == (4, [0], (160, 96))


def test_plume_is_gone_after_its_end() -> None:
    spec = replace(SMALL, plume_start_s=1.0, plume_end_s=30.0)
    assert smoke_like(render_frame(spec, 29.0)).sum() > 50
    assert smoke_like(render_frame(spec, 30.0)).sum() == 0


def test_demo_loop_opens_and_closes_an_event_every_time_round() -> None:
    """The demo camera's footage, scored by the demo model every interval with the service's
    default smoothing over two loops: the event opens and closes on each, so a first look at
    the console sees the whole lifecycle."""
    from cli.main import DEMO_INTERVAL_S, demo_spec
    from detector.config import DEMO_MODEL, SmoothingConfig
    from detector.model import OnnxModel
    from detector.smoothing import CameraSmoother
    from streams.frame import Frame

    spec, model = demo_spec(), OnnxModel(DEMO_MODEL)
    smoother = CameraSmoother("demo", model.classes, model.thresholds(), SmoothingConfig())
    seen = []
    for i in range(round(2 * spec.seconds / DEMO_INTERVAL_S)):
        ts = i * DEMO_INTERVAL_S
        frame = Frame("demo", ts, i, render_frame(spec, ts % spec.seconds))
        (detection,), _ = model.score([frame])
        seen += [(u.transition.value, ts // spec.seconds) for u in smoother.update(detection)]
    lifecycle = [(change, loop) for change, loop in seen if change != "updated"]
    assert lifecycle == [("opened", 0), ("closed", 0), ("opened", 1), ("closed", 1)]
