"""The change layer: a single-frame network's last layer widened to the change of its features.
The exported six-channel model computes exactly what was fitted, a view that did not change
scores as the base network does, and only the change weights of the named row learn."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import onnxruntime as ort

from detector.modelspec import InputSpec, ModelSpec, OutputKind, load_spec
from detector.preprocess import to_tensor
from models.training import change_head
from models.training import head as layer
from tests.fixtures.models import SIDE, tiny_net

BASE_W = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, -0.5]], dtype=np.float32)
BASE_B = np.array([-2.0, -3.0], dtype=np.float32)
INPUT = InputSpec(size=(SIDE, SIDE), layout="NCHW", mean=(0.0,) * 3, std=(1.0,) * 3)


def crops(colours: list[tuple[int, int, int]]) -> list[np.ndarray]:
    return [np.full((SIDE, SIDE, 3), c, np.uint8) for c in colours]


def run(model_bytes: bytes, cur: list[np.ndarray], ref: list[np.ndarray]) -> np.ndarray:
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    stacked = np.concatenate([to_tensor(cur, INPUT), to_tensor(ref, INPUT)], axis=1)
    return np.asarray(session.run(None, {session.get_inputs()[0].name: stacked})[0])


def test_the_six_channel_model_computes_the_fitted_layer() -> None:
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(2, 9)).astype(np.float32)
    bias = np.array([0.5, -1.0], dtype=np.float32)
    model = change_head.change_model(tiny_net(BASE_W, BASE_B), weight, bias)
    cur, ref = crops([(255, 0, 51), (10, 200, 30)]), crops([(200, 40, 51), (10, 200, 30)])
    scorer = layer.FeatureScorer(tiny_net(BASE_W, BASE_B), INPUT)
    pairs = change_head.PairFeatures(scorer.features(cur), scorer.features(ref), np.zeros((2, 2)))
    logits = run(model.SerializeToString(), cur, ref)
    assert np.allclose(logits, pairs.stacked() @ weight.T + bias, atol=1e-5)


def test_an_unchanged_view_scores_as_the_base_network() -> None:
    model = change_head.change_model(
        tiny_net(BASE_W, BASE_B),
        change_head.widen(BASE_W) + [[0, 0, 0, 3, 1, 0, 2, 0, 0]] * 2,
        BASE_B,
    )
    same = crops([(255, 0, 51), (0, 0, 0)])
    scorer = layer.FeatureScorer(tiny_net(BASE_W, BASE_B), INPUT)
    base = layer.Head(BASE_W, BASE_B).logits(scorer.features(same))
    assert np.allclose(run(model.SerializeToString(), same, same), base, atol=1e-5)


def test_only_the_change_weights_of_the_named_row_learn() -> None:
    rng = np.random.default_rng(1)
    cur = rng.uniform(0, 1, size=(400, 3)).astype(np.float32)
    rise = rng.uniform(0, 0.5, size=400).astype(np.float32)
    ref = cur.copy()
    ref[:, 2] -= rise  # the third feature rose by ``rise`` since the reference
    labels = np.stack([(rise > 0.25).astype(np.float32), np.full(400, np.nan)], axis=1)
    pairs = change_head.PairFeatures(cur, ref, labels)
    cfg = replace(change_head.parse_args([]), steps=300, lam=1e-4, lr=0.05)
    weight = change_head.fit(BASE_W, BASE_B, pairs, cfg, rows=(0,))
    assert np.array_equal(weight[1], change_head.widen(BASE_W)[1])  # flame: not named
    assert np.array_equal(weight[:, :3], BASE_W)  # the tile's own features keep their weights
    assert weight[0, 3 + 2] > 1.0  # the change of the third feature says smoke
    before = change_head.auc_by_class(change_head.widen(BASE_W), BASE_B, pairs, ["smoke", "flame"])
    after = change_head.auc_by_class(weight, BASE_B, pairs, ["smoke", "flame"])
    assert (before["smoke"] or 1.0) < 0.6 < 0.95 < (after["smoke"] or 0.0)


def test_the_model_directory_states_its_temporal_input(tmp_path: Path) -> None:
    base = ModelSpec(
        name="tiny",
        kind=OutputKind.TILED_CLASSIFIER,
        classes=["smoke", "flame"],
        input=INPUT,
        thresholds={"smoke": 0.5, "flame": 0.9},
    )
    cfg = replace(change_head.parse_args([]), out=tmp_path / "change", name="tiny-change")
    model = change_head.change_model(tiny_net(BASE_W, BASE_B), change_head.widen(BASE_W), BASE_B)
    change_head.write_model(cfg, base, model, {"note": 1})
    spec = load_spec(tmp_path / "change")
    assert spec.name == "tiny-change" and spec.input_channels == 6
    assert spec.temporal is not None and spec.temporal.reference_s == cfg.reference_s
