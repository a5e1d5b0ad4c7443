"""A tiny hand-written ONNX tile classifier that reacts to the synthetic plume's colour.

It is not a wildfire detector: it knows one colour. It scores the synthetic demo footage of
:mod:`benchmarks.synth` (whose plume is grey-brown, a colour absent from its sky, hills, white
clouds and haze) so the demo camera and the tests have a model whose answer is known. A tile's
smoke score rises with the share of grey-brown pixels; its flame score with the share of bright
orange pixels. ``models/demo-plume/`` is this model, written by
``python -m benchmarks.synth_model``.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper

from detector.config import DEMO_MODEL
from detector.modelspec import InputSpec, ModelSpec, OutputKind, OutputSpec, TilingSpec, write_spec

# Share of a tile's pixels that must look like smoke for a score of 0.5, and the slope around it.
SHARE_AT_HALF = 0.01
SLOPE = 400.0


def _const(name: str, value: float) -> onnx.TensorProto:
    return helper.make_tensor(name, TensorProto.FLOAT, [], [value])


def _share_score(prefix: str, conds: list[str], nodes: list[onnx.NodeProto]) -> str:
    """Append nodes computing sigmoid(SLOPE * (mean(all conds) - SHARE_AT_HALF)) -> [N, 1]."""
    acc = conds[0]
    for i, cond in enumerate(conds[1:]):
        nodes.append(helper.make_node("And", [acc, cond], [f"{prefix}_and{i}"]))
        acc = f"{prefix}_and{i}"
    nodes += [
        helper.make_node("Cast", [acc], [f"{prefix}_f"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", [f"{prefix}_f", "hw"], [f"{prefix}_m"], keepdims=0),
        helper.make_node("Sub", [f"{prefix}_m", "share0"], [f"{prefix}_c"]),
        helper.make_node("Mul", [f"{prefix}_c", "slope"], [f"{prefix}_z"]),
        helper.make_node("Sigmoid", [f"{prefix}_z"], [f"{prefix}_p"]),
    ]
    return f"{prefix}_p"


def build_plume_model(model_dir: Path, size: int = 64, rows: int = 2) -> Path:
    """Write ``model.onnx`` + ``model.yaml`` of the colour-rule tile classifier into model_dir."""
    model_dir.mkdir(parents=True, exist_ok=True)
    consts = {
        "c040": 0.40,
        "c085": 0.85,
        "c0015": 0.015,
        "cm002": -0.02,
        "c010": 0.10,
        "c080": 0.80,
        "c040b": 0.40,
        "share0": SHARE_AT_HALF,
        "slope": SLOPE,
    }
    nodes = [
        helper.make_node("Split", ["x"], ["r", "g", "b"], axis=1, num_outputs=3),
        helper.make_node("Sub", ["r", "b"], ["rb"]),
        helper.make_node("Sub", ["r", "g"], ["rg"]),
        helper.make_node("Greater", ["r", "c040"], ["s1"]),
        helper.make_node("Less", ["r", "c085"], ["s2"]),
        helper.make_node("Greater", ["rb", "c0015"], ["s3"]),
        helper.make_node("Greater", ["rg", "cm002"], ["s4"]),
        helper.make_node("Less", ["rg", "c010"], ["s5"]),
        helper.make_node("Greater", ["r", "c080"], ["f1"]),
        helper.make_node("Greater", ["rb", "c040b"], ["f2"]),
    ]
    smoke = _share_score("smoke", ["s1", "s2", "s3", "s4", "s5"], nodes)
    flame = _share_score("flame", ["f1", "f2"], nodes)
    nodes.append(helper.make_node("Concat", [smoke, flame], ["scores"], axis=1))
    graph = helper.make_graph(
        nodes,
        "plume_rule",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, size, size])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["n", 2])],
        initializer=[
            *(_const(k, v) for k, v in consts.items()),
            helper.make_tensor("hw", TensorProto.INT64, [2], [2, 3]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(model_dir / "model.onnx"))
    spec = ModelSpec(
        name="demo-plume",
        kind=OutputKind.TILED_CLASSIFIER,
        classes=("smoke", "flame"),
        input=InputSpec(size=(size, size), layout="NCHW"),
        output=OutputSpec(activation="none"),
        tiling=TilingSpec(rows=rows),
        thresholds={"smoke": 0.5, "flame": 0.5},
        licence={"weights": "Apache-2.0 (hand-written colour rule, no training)", "data": "none"},
    )
    write_spec(model_dir, spec)
    return model_dir


if __name__ == "__main__":
    print(build_plume_model(DEMO_MODEL))
