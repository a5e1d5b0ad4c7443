"""Averaging float exports of one network: the mean of every float weight, the graph kept;
exports of different networks are refused with the tensor that differs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from models.training.soup import SoupError, average, main


def conv_net(path: Path, weight: float, out_channels: int = 2) -> Path:
    """x (N x 1 x 4 x 4) -> 1x1 Conv whose every weight is ``weight`` -> y; an int64 shape too."""
    w = numpy_helper.from_array(np.full((out_channels, 1, 1, 1), weight, np.float32), "w")
    shape = numpy_helper.from_array(np.array([-1, 4 * 4 * out_channels], np.int64), "shape")
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w"], ["c"]),
            helper.make_node("Reshape", ["c", "shape"], ["y"]),
        ],
        "net",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 1, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4 * 4 * out_channels])],
        [w, shape],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return path


def test_the_soup_is_the_mean_of_the_weights_and_runs(tmp_path: Path) -> None:
    a, b = conv_net(tmp_path / "a.onnx", 1.0), conv_net(tmp_path / "b.onnx", 3.0)
    out = average([a, b], tmp_path / "soup" / "soup.onnx")
    weights = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(out)).graph.initializer}
    assert np.all(weights["w"] == 2.0)
    assert weights["shape"].tolist() == [-1, 32]  # integer tensors are kept, not averaged
    x = np.ones((1, 1, 4, 4), np.float32)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert np.allclose(session.run(None, {"x": x})[0], 2.0)


def test_different_networks_are_refused_by_name(tmp_path: Path) -> None:
    a, b = conv_net(tmp_path / "a.onnx", 1.0), conv_net(tmp_path / "b.onnx", 1.0, out_channels=3)
    with pytest.raises(SoupError, match=r"b\.onnx: weight w \[3, 1, 1, 1\]"):
        average([a, b], tmp_path / "soup.onnx")
    with pytest.raises(SoupError, match="at least two"):
        average([a], tmp_path / "soup.onnx")


def test_command_names_a_file_that_is_not_onnx(tmp_path: Path) -> None:
    a = conv_net(tmp_path / "a.onnx", 1.0)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\xff\xfe not a model")
    with pytest.raises(SystemExit, match="soup: "):
        main([str(a), str(junk), "--out", str(tmp_path / "soup.onnx")])
