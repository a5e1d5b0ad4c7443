"""Refitting a network's last layer: the layer is found and replaced in the graph, frames pull
their strongest tile, only the named rows learn, and a camera's frames never judge a layer
fitted on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from detector.modelspec import InputSpec, ModelSpec, load_spec
from detector.preprocess import to_tensor
from models.training import head as layer
from models.training import refit
from tests.fixtures.models import SIDE, tiny_net

BASE = layer.Head(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, -0.5]]), np.array([-2.0, -3.0]))
INPUT = InputSpec(size=(SIDE, SIDE), layout="NCHW", mean=(0.0,) * 3, std=(1.0,) * 3)


def test_the_last_layer_is_read_replaced_and_its_input_exposed() -> None:
    model = tiny_net(BASE.weight, BASE.bias)
    head = layer.read_head(model)
    assert np.allclose(head.weight, BASE.weight) and np.allclose(head.bias, BASE.bias)
    new = layer.Head(np.array([[0.0, 2.0, 0.0], [1.0, 1.0, 1.0]]), np.array([0.5, -1.0]))
    changed = layer.with_head(model, new)
    crops = [np.full((SIDE, SIDE, 3), (255, 0, 51), np.uint8)]  # features (1, 0, 0.2)
    features = layer.FeatureScorer(changed, INPUT).features(crops)
    assert np.allclose(features, [[1.0, 0.0, 0.2]])
    session = ort.InferenceSession(changed.SerializeToString(), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"tiles": to_tensor(crops, INPUT)})
    assert np.allclose(logits, new.logits(features), atol=1e-5)
    assert np.allclose(layer.read_head(model).weight, BASE.weight)  # the original is untouched


def test_a_graph_that_does_not_end_in_a_plain_gemm_is_refused() -> None:
    with pytest.raises(ValueError, match="'logits' is not written by a Gemm"):
        layer.find_classifier(tiny_net(BASE.weight, BASE.bias, last="Identity"))
    transposed = tiny_net(BASE.weight.T.copy(), BASE.bias)
    gemm = transposed.graph.node[-1]
    del gemm.attribute[:]  # transB=0: weight is [D, C]
    with pytest.raises(ValueError, match=r"not features @ weight\.T"):
        layer.find_classifier(transposed)


def test_frame_labels_become_targets_per_class() -> None:
    targets = refit.bag_targets(["negative", "flame", "smoke", "unsure"], ("smoke", "flame"))
    assert np.array_equal(np.nan_to_num(targets, nan=-1), [[0, 0], [-1, 1], [1, -1], [-1, -1]])


def glow_case() -> tuple[layer.Tiles, layer.Bags]:
    """Tiles teach flame on channel 1; night fire frames show it as channel 2 (glow), to which
    the base layer is nearly blind. Camera ``a`` and ``b`` each have a fire frame
    (two tiles, one glowing) and a negative frame (dark tiles)."""
    rng = np.random.default_rng(0)
    feats = rng.uniform(0, 1, (200, 3)) * [1, 1, 0]
    tiles = layer.Tiles(feats, np.stack([feats[:, 0] > 0.5, feats[:, 1] > 0.5], 1).astype(np.int8))
    glow, dark = [0.1, 0.1, 1.0], [0.1, 0.1, 0.0]
    bags = layer.Bags(
        features=np.array([dark, glow, dark, dark, dark, glow, dark, dark]),
        frame=np.array([0, 0, 1, 1, 2, 2, 3, 3]),
        targets=refit.bag_targets(["flame", "negative", "flame", "negative"], ("smoke", "flame")),
        camera=np.array(["a", "a", "b", "b"]),
    )
    return tiles, bags


def test_fire_frames_pull_their_strongest_tile_and_only_the_named_rows_learn() -> None:
    tiles, bags = glow_case()
    cfg = layer.RefitConfig(classes=(1,), alpha=3.0, lam=1e-3, steps=300, lr=0.05)
    before = layer.frame_scores(BASE, bags)
    head = layer.fit(BASE, tiles, bags, cfg)
    after = layer.frame_scores(head, bags)
    assert before[[0, 2], 1].max() < 0.1 and after[[0, 2], 1].min() > 0.5  # fires found
    assert after[[1, 3], 1].max() < 0.5  # negatives stay below
    assert np.array_equal(head.weight[0], BASE.weight[0]) and head.bias[0] == BASE.bias[0]
    without_frames = layer.fit(BASE, tiles, bags, layer.RefitConfig((1,), alpha=0.0))
    assert layer.frame_scores(without_frames, bags)[[0, 2], 1].max() < 0.5


def test_each_camera_is_scored_by_a_layer_fitted_without_its_frames() -> None:
    tiles, bags = glow_case()
    alone = layer.Bags(
        bags.features[:4], bags.frame[:4], bags.targets[:2], np.array(["a", "b"])
    )  # camera a: one fire frame; camera b: one negative frame, nothing else teaches glow
    cfg = layer.RefitConfig(classes=(1,), alpha=3.0, steps=300, lr=0.05)
    assert layer.frame_scores(layer.fit(BASE, tiles, alone, cfg), alone)[0, 1] > 0.5
    assert layer.leave_one_camera_out(BASE, tiles, alone, cfg)[0, 1] < 0.1


def test_the_written_model_keeps_the_contract_and_records_the_refit(tmp_path: Path) -> None:
    spec = ModelSpec(
        name="tiny-v2",
        kind="tiled_classifier",
        classes=("smoke", "flame"),
        input=INPUT,
        thresholds={"smoke": 0.5, "flame": 0.9},
        night_thresholds={"flame": refit.NIGHT_FLAME},
    )
    new = layer.Head(np.ones((2, 3)), np.zeros(2))
    written = refit.write_model(tiny_net(BASE.weight, BASE.bias), new, spec, tmp_path, {"alpha": 1})
    assert written == load_spec(tmp_path)  # the sha256 matches the file
    assert written.night_thresholds == {"flame": 0.5} and written.metrics["refit"] == {"alpha": 1}
    assert np.allclose(layer.read_head(onnx.load(str(tmp_path / "model.onnx"))).weight, 1.0)


def test_the_command_names_a_class_the_model_does_not_have(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = ModelSpec(name="tiny", kind="tiled_classifier", classes=("smoke", "flame"), input=INPUT)
    refit.write_model(tiny_net(BASE.weight, BASE.bias), BASE, spec, tmp_path, {})
    with pytest.raises(SystemExit):
        refit.main([str(tmp_path), "--name", "x", "--classes", "flame,glow"])
    assert "--classes ['glow'] are not classes of the model ['smoke', 'flame']" in (
        capsys.readouterr().err
    )
