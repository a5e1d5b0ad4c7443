"""Training augmentation and threshold choice: the parts of the recipe that need no torch."""

from __future__ import annotations

import numpy as np
import pytest

from models.training import augment as augment_module
from models.training.augment import _fog, _glare, _lights, augment
from models.training.metrics import pick_threshold, pick_threshold_fpr, prf


def _tile(value: int = 90) -> np.ndarray:
    rng = np.random.default_rng(3)
    return np.clip(rng.normal(value, 20, (64, 64, 3)), 0, 255).astype(np.uint8)


def count_calls(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Replace augment's transform ``name`` by a spy; the list grows by one per call."""
    calls: list[int] = []
    real = getattr(augment_module, name)

    def spy(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        calls.append(1)
        return real(img, rng)

    monkeypatch.setattr(augment_module, name, spy)
    return calls


def test_augment_keeps_shape_and_type_with_and_without_look_alikes() -> None:
    rng = np.random.default_rng(0)
    for look_alikes in (False, True):
        for _ in range(30):
            out = augment(_tile(), False, rng, look_alikes=look_alikes)
            assert out.shape == (64, 64, 3) and out.dtype == np.uint8
            assert out.flags.c_contiguous


def test_look_alikes_off_draws_the_same_random_numbers_as_before() -> None:
    """Without look-alikes the flame flag changes nothing: older recipes replay exactly."""
    a, b = np.random.default_rng(7), np.random.default_rng(7)
    first = augment(_tile(), False, a)
    second = augment(_tile(), False, b, flame_positive=True, look_alikes=False)
    assert np.array_equal(first, second)
    assert a.random() == b.random()


def test_glare_brightens_towards_warm_white() -> None:
    tile = _tile(60)
    outs = [_glare(tile, np.random.default_rng(seed)) for seed in range(10)]
    assert all(out.astype(int).sum() > tile.astype(int).sum() for out in outs)
    assert max(int(out.max()) for out in outs) > 200
    red, blue = (np.mean([out[..., c].mean() for out in outs]) for c in (0, 2))
    assert red > blue  # warm, like sunlight


def test_night_lights_are_a_dark_scene_with_a_few_bright_spots() -> None:
    out = _lights(_tile(120), np.random.default_rng(2))
    grey = out.mean(axis=2)
    assert np.median(grey) < 60  # the scene is darkened
    assert 0 < np.mean(grey > 230) < 0.2  # small bright lights


@pytest.mark.parametrize(
    ("smoke", "flame", "lit"), [(True, False, False), (False, True, False), (False, False, True)]
)
def test_only_tiles_positive_for_neither_class_get_night_lights(
    monkeypatch: pytest.MonkeyPatch, smoke: bool, flame: bool, lit: bool
) -> None:
    calls = count_calls(monkeypatch, "_lights")
    rng = np.random.default_rng(5)
    for _ in range(200):
        augment(_tile(), smoke, rng, flame_positive=flame, look_alikes=True)
    assert bool(calls) is lit
    if lit:
        assert 5 < len(calls) < 40  # about 10 % of the tiles


def test_fog_is_a_bright_veil_that_flattens_the_scene() -> None:
    tile = _tile(60)

    def detail(img: np.ndarray) -> float:  # contrast of fine detail (minus a 3x3 mean)
        grey = img.astype(float).mean(axis=2)
        mean = sum(np.roll(np.roll(grey, dy, 0), dx, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1))
        return float(np.std(grey - mean / 9))

    for seed in range(10):
        out = _fog(tile, np.random.default_rng(seed))
        assert out.mean() > tile.mean() + 20  # grey-white veil over a dark scene
        assert detail(out) < detail(tile) / 2  # the detail under it fades


@pytest.mark.parametrize(("smoke", "fogged"), [(True, False), (False, True)])
def test_only_tiles_without_smoke_get_fog_and_only_with_the_option(
    monkeypatch: pytest.MonkeyPatch, smoke: bool, fogged: bool
) -> None:
    calls = count_calls(monkeypatch, "_fog")
    rng = np.random.default_rng(5)
    for _ in range(200):
        augment(_tile(), smoke, rng, look_alikes=True, fog=True)
    assert bool(calls) is fogged
    if fogged:
        assert 15 < len(calls) < 50  # about 15 % of the tiles
    calls.clear()
    a, b = np.random.default_rng(7), np.random.default_rng(7)
    assert np.array_equal(augment(_tile(), smoke, a), augment(_tile(), smoke, b, fog=False))
    assert not calls and a.random() == b.random()  # without the option: the recipe as before


def test_f_beta_threshold_on_a_hand_made_table() -> None:
    scores = np.array([0.1, 0.2, 0.35, 0.4, 0.6, 0.7, 0.8, 0.9])
    labels = np.array([0, 0, 1, 0, 0, 1, 1, 1])
    # at 0.7: P = 3/3, R = 3/4 -> F0.5 = 0.9375, the best; at 0.35 recall is 1 but P = 4/6
    assert pick_threshold(scores, labels, beta=0.5) == pytest.approx(0.7)
    assert pick_threshold(scores, labels, beta=2.0) == pytest.approx(0.35)
    assert prf(scores, labels, 0.7) == pytest.approx(
        {"precision": 1.0, "recall": 0.75, "f1": 6 / 7, "fpr": 0.0}
    )


def test_fpr_threshold_lets_through_at_most_the_allowed_negatives() -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
    labels = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    thr = pick_threshold_fpr(scores, labels, max_fpr=0.0)
    assert 0.9 < thr <= 0.95
    assert prf(scores, labels, thr)["fpr"] == 0.0
    assert prf(scores, labels, pick_threshold_fpr(scores, labels, 1 / 9))["fpr"] <= 1 / 9
