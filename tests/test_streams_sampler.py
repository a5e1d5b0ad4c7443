"""Interval sampler: a fixed grid on frame timestamps."""

from __future__ import annotations

import pytest

from streams.sampler import IntervalSampler


@pytest.mark.parametrize(
    ("interval", "stamps", "due"),
    [
        # First frame always due; then one per grid slot.
        (1.0, [0.0, 0.5, 1.0, 1.5, 2.0, 2.5], [0.0, 1.0, 2.0]),
        # Grid anchored at the first frame, not at zero.
        (1.0, [0.3, 0.9, 1.2, 1.3, 2.3], [0.3, 1.3, 2.3]),
        # A gap skips the missed slots without a burst afterwards; the grid does not drift.
        (1.0, [0.0, 0.2, 3.5, 3.7, 4.0, 4.2], [0.0, 3.5, 4.0]),
        # Frames slower than the interval: every frame is due.
        (0.5, [0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0]),
        # Interval shorter than the frame spacing but not a multiple of it.
        (0.25, [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [0.0, 0.3, 0.5]),
        # Time going backwards re-anchors the grid at that frame.
        (1.0, [100.0, 101.0, 50.0, 50.5, 51.0], [100.0, 101.0, 50.0, 51.0]),
        # A single frame.
        (5.0, [42.0], [42.0]),
    ],
)
def test_sampler_table(interval: float, stamps: list[float], due: list[float]) -> None:
    sampler = IntervalSampler(interval)
    assert [t for t in stamps if sampler.due(t)] == due


def test_sampler_on_inexact_clip_timestamps() -> None:
    # ts = index * 0.1 is not exact in floating point; interval 0.3 must still hit every 3rd.
    sampler = IntervalSampler(0.3)
    picked = [i for i in range(31) if sampler.due(i * 0.1)]
    assert picked == list(range(0, 31, 3))


@pytest.mark.parametrize(
    ("interval", "tolerance", "stamps", "due"),
    [
        # Keyframes once per interval with jitter: all of them count with a tolerance...
        (2.0, 0.2, [0.0, 1.99, 4.01, 5.98, 8.0], [0.0, 1.99, 4.01, 5.98, 8.0]),
        (2.0, 0.0, [0.0, 1.99, 4.01, 5.98, 8.0], [0.0, 4.01, 8.0]),
        # ...and the grid stays fixed (no drift towards earlier frames).
        (1.0, 0.3, [0.0, 0.6, 0.75, 1.5, 1.8, 2.7, 2.9], [0.0, 0.75, 1.8, 2.7]),
    ],
)
def test_sampler_tolerance(
    interval: float, tolerance: float, stamps: list[float], due: list[float]
) -> None:
    sampler = IntervalSampler(interval, tolerance_s=tolerance)
    assert [t for t in stamps if sampler.due(t)] == due


def test_sampler_next_due_and_reset() -> None:
    sampler = IntervalSampler(2.0)
    assert sampler.next_due is None
    assert sampler.due(10.0)
    assert sampler.next_due == 12.0
    assert not sampler.due(11.0)
    sampler.reset()
    assert sampler.due(11.0)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_sampler_rejects_bad_interval(bad: float) -> None:
    with pytest.raises(ValueError):
        IntervalSampler(bad)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 2.0])
def test_sampler_rejects_bad_tolerance(bad: float) -> None:
    with pytest.raises(ValueError):
        IntervalSampler(1.0, tolerance_s=bad)
