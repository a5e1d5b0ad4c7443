"""Keyframe-only decision (GOP measurement) and frame positions, without any video."""

from __future__ import annotations

import pytest

from streams.config import DecodeMode
from streams.keyframes import DecodeCounters, FrameIndexer, KeyframePolicy


def _feed(policy: KeyframePolicy, frames: list[tuple[float, bool]]) -> list[bool]:
    """Observe (t, keyframe) pairs; return keyframes_only after each one."""
    out = []
    for t, key in frames:
        policy.observe(t, key)
        out.append(policy.counters.keyframes_only)
    return out


def _stream(fps: int, gop: int, n: int) -> list[tuple[float, bool]]:
    return [(i / fps, i % gop == 0) for i in range(n)]


@pytest.mark.parametrize(
    ("mode", "interval", "switch_at"),
    [
        (DecodeMode.AUTO, 2.0, 20),  # interval == GOP: switch at the 2nd keyframe
        (DecodeMode.AUTO, 10.0, 20),
        (DecodeMode.AUTO, 1.9, None),  # interval shorter than the GOP: keep every frame
        (DecodeMode.ALL, 60.0, None),
        (DecodeMode.KEYFRAMES, 0.1, 0),  # from the start
    ],
)
def test_policy_switches_when_interval_covers_a_gop(
    mode: DecodeMode, interval: float, switch_at: int | None
) -> None:
    counters = DecodeCounters()
    policy = KeyframePolicy(mode, interval, counters)
    states = _feed(policy, _stream(fps=10, gop=20, n=45))
    expected = [switch_at is not None and i >= switch_at for i in range(45)]
    assert states == expected
    if mode != DecodeMode.KEYFRAMES:
        assert counters.gop_s == pytest.approx(2.0)
        assert counters.fps == pytest.approx(10.0)


def test_policy_returns_true_only_on_change_and_reverts_when_gop_grows() -> None:
    policy = KeyframePolicy(DecodeMode.AUTO, 3.0, DecodeCounters())
    assert policy.observe(0.0, True) is False
    assert policy.observe(0.1, False) is False
    assert policy.observe(2.0, True) is True  # GOP 2 s <= 3 s: keyframes only
    assert policy.observe(4.0, True) is False
    assert policy.observe(9.0, True) is True  # GOP grew to 5 s: decode everything again
    assert policy.counters.keyframes_only is False
    assert policy.counters.gop_s == pytest.approx(5.0)


def test_policy_ignores_missing_and_backward_timestamps() -> None:
    counters = DecodeCounters()
    policy = KeyframePolicy(DecodeMode.AUTO, 5.0, counters)
    policy.observe(None, True)  # RTSP: the first packet may have no timestamp
    policy.observe(2.0, True)
    assert counters.gop_s is None
    policy.observe(1.0, True)  # a looping file jumps back to its start
    assert counters.gop_s is None
    policy.observe(3.0, True)
    assert counters.gop_s == pytest.approx(2.0)


def test_indexer_counts_every_decoded_frame() -> None:
    indexer = FrameIndexer(fps=10.0)
    assert [indexer.next(i / 10, False) for i in range(5)] == [0, 1, 2, 3, 4]


def test_indexer_estimates_positions_of_keyframes() -> None:
    indexer = FrameIndexer(fps=10.0)
    first = [indexer.next(i / 10, False) for i in range(21)]  # decoded all up to frame 20
    later = [indexer.next(t, True) for t in (4.0, 6.0, 8.0)]  # then keyframes only
    assert first[-1] == 20
    assert later == [40, 60, 80]


@pytest.mark.parametrize("fps", [None, 0.0])
def test_indexer_without_frame_rate_counts(fps: float | None) -> None:
    indexer = FrameIndexer(fps=fps)
    assert [indexer.next(t, True) for t in (0.0, 2.0, 4.0)] == [0, 1, 2]


def test_indexer_stays_increasing() -> None:
    indexer = FrameIndexer(fps=10.0)
    out = [indexer.next(t, True) for t in (None, 0.0, 2.0, 1.0, 2.05)]
    assert out == sorted(set(out))
