"""Degraded copies of tiles for training stable scores (no training extra needed)."""

from __future__ import annotations

import numpy as np

from models.training.degrade import (
    DegradeSpec,
    adjust_light,
    degrade,
    h264_round_trip,
    jpeg_round_trip,
)


def _tile(size: int = 64) -> np.ndarray:
    """A smooth gradient with some texture: what an encoder keeps mostly, but not exactly."""
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:size, 0:size]
    base = np.stack([xx * 3, yy * 3, (xx + yy) * 1.5], axis=-1) + rng.normal(0, 12, (size, size, 3))
    return np.clip(base + 40, 0, 255).astype(np.uint8)


def test_degrade_changes_pixels_and_keeps_shape_and_type() -> None:
    tile = _tile()
    rng = np.random.default_rng(0)
    for _ in range(12):
        out = degrade(tile, rng)
        assert out.shape == tile.shape and out.dtype == np.uint8 and out.flags.c_contiguous
        assert np.abs(out.astype(int) - tile.astype(int)).mean() > 1.0


def test_degrade_is_reproducible_with_the_seed() -> None:
    tile = _tile()
    first = [degrade(tile, np.random.default_rng(11)) for _ in range(2)]
    assert np.array_equal(first[0], first[1])


def test_h264_round_trip_loses_more_at_a_higher_crf() -> None:
    tile = _tile(96)
    errors = [np.abs(h264_round_trip(tile, crf).astype(int) - tile).mean() for crf in (12, 35)]
    assert h264_round_trip(tile, 28).shape == tile.shape
    assert 0 < errors[0] < errors[1]


def test_jpeg_round_trip_keeps_colour_order() -> None:
    red = np.zeros((32, 32, 3), np.uint8)
    red[..., 0] = 220
    out = jpeg_round_trip(red, 90)
    assert out[..., 0].mean() > 200 and out[..., 2].mean() < 20


def test_adjust_light_gain_and_gamma() -> None:
    grey = np.full((4, 4, 3), 128, np.uint8)
    assert adjust_light(grey, 1.1, 1.0)[0, 0, 0] == 141
    assert adjust_light(grey, 1.0, 1.15)[0, 0, 0] < 128  # gamma above 1 darkens mid-tones
    assert adjust_light(np.full((2, 2, 3), 250, np.uint8), 1.15, 1.0).max() == 255


def test_degrade_with_only_h264_or_only_jpeg() -> None:
    tile = _tile()
    for p in (0.0, 1.0):
        spec = DegradeSpec(h264_p=p, gain=(1.0, 1.0), gamma=(1.0, 1.0), scale=(1.0, 1.0))
        out = degrade(tile, np.random.default_rng(1), spec)
        assert out.shape == tile.shape and not np.array_equal(out, tile)
