"""Int8 quantisation of the recipe: a small float CNN, calibrated on training tiles only, keeps
its scores and becomes a QDQ graph; the same tiles give the same file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from detector.modelspec import InputSpec
from detector.preprocess import to_tensor
from models.training.quantize import calibration_batches, quantize
from models.training.tiles import TileSet

SPEC = InputSpec(size=(32, 32), layout="NCHW", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))


def float_cnn(path: Path) -> None:
    """tiles N x 3 x 32 x 32 -> Conv 3x3 -> Relu -> Conv 1x1 -> average -> logits N x 2."""
    rng = np.random.default_rng(1)
    w1 = numpy_helper.from_array(rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(rng.normal(0, 0.3, (2, 8, 1, 1)).astype(np.float32), "w2")
    nodes = [
        helper.make_node("Conv", ["tiles", "w1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2"),
        helper.make_node("GlobalAveragePool", ["c2"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["logits"], name="flat"),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("tiles", TensorProto.FLOAT, ["batch", 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])],
        [w1, w2],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


@pytest.fixture
def tile_set() -> TileSet:
    rng = np.random.default_rng(2)
    n = 96
    return TileSet(
        crops=rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
        labels=np.zeros((n, 2), np.int8),
        pool=np.array(["negative"] * n),
        split=np.array(["train", "val"] * (n // 2)),
        group=np.array(["g"] * n),
        image=np.arange(n, dtype=np.int32),
    )


def run(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {"tiles": x})[0])


def test_calibration_draws_training_tiles_only(tile_set: TileSet) -> None:
    tile_set.crops[tile_set.split == "val"] = 255  # validation tiles would show as all ones
    batches = list(calibration_batches(tile_set, SPEC, seed=3, count=40, batch=16))
    assert [len(b) for b in batches] == [16, 16, 8]
    assert all(not np.any(np.all(b == 1.0, axis=(1, 2, 3))) for b in batches)


def test_int8_network_keeps_the_scores(tile_set: TileSet, tmp_path: Path) -> None:
    fp32, int8 = tmp_path / "fp32.onnx", tmp_path / "int8.onnx"
    float_cnn(fp32)
    how = quantize(fp32, int8, tile_set, SPEC, seed=3)
    assert how["calibration_tiles"] == 48 and str(how["precision"]).startswith("int8")
    ops = {n.op_type for n in onnx.load(int8).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    x = to_tensor(list(tile_set.crops[tile_set.split == "val"]), SPEC)
    expected, got = run(fp32, x), run(int8, x)
    assert np.abs(got - expected).max() < 0.05 * np.abs(expected).max()
    again = tmp_path / "again.onnx"
    quantize(fp32, again, tile_set, SPEC, seed=3)
    assert again.read_bytes() == int8.read_bytes()
