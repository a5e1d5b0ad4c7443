"""Model directory contract, temporal input: model.yaml's ``temporal`` section, and the detector
feeding each tile together with the same box of the camera's view ``reference_s`` earlier."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import yaml
from onnx import TensorProto, helper

from detector.model import OnnxModel
from detector.modelspec import (
    InputSpec,
    ModelError,
    ModelSpec,
    OutputKind,
    OutputSpec,
    TemporalMode,
    TemporalSpec,
    TilingSpec,
    load_spec,
    write_spec,
)
from detector.reference import ReferenceViews
from streams.frame import Frame

SIZE = 32
SKY, PLUME = (110, 150, 210), (240, 240, 235)
# Mean absolute change of a tile: references are kept scaled (area-averaged), so a view against
# itself differs a little at the plume's edges; the plume appearing changes a tile far more.
STILL, CHANGED = 0.01, 0.05


def change_model(out: Path, mode: TemporalMode, reference_s: float = 300.0) -> Path:
    """A temporal tile 'network' whose smoke score is the mean absolute value of channels 3-5
    (the reference half of the input) minus channels 0-2 when ``stack6``, or of channels 3-5
    alone when ``diff``: both are how much the tile changed. Flame is always 0."""
    nodes = [
        helper.make_node("Split", ["x", "halves"], ["cur", "ref"], axis=1),
        helper.make_node(
            "Sub" if mode is TemporalMode.STACK6 else "Add", ["ref", "zero_or_cur"], ["d"]
        ),
        helper.make_node("Abs", ["d"], ["a"]),
        helper.make_node("ReduceMean", ["a", "axes"], ["m"], keepdims=0),
        helper.make_node("Unsqueeze", ["m", "one"], ["smoke"]),
        helper.make_node("Mul", ["smoke", "zero"], ["flame"]),
        helper.make_node("Concat", ["smoke", "flame"], ["scores"], axis=1),
    ]
    inits = [
        helper.make_tensor("halves", TensorProto.INT64, [2], [3, 3]),
        helper.make_tensor("axes", TensorProto.INT64, [3], [1, 2, 3]),
        helper.make_tensor("one", TensorProto.INT64, [1], [1]),
        helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
    ]
    if mode is TemporalMode.STACK6:
        nodes.insert(1, helper.make_node("Identity", ["cur"], ["zero_or_cur"]))
    else:
        nodes.insert(1, helper.make_node("Mul", ["cur", "zero"], ["zero_or_cur"]))
    graph = helper.make_graph(
        nodes,
        "change",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 6, SIZE, SIZE])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["n", 2])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    out.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out / "model.onnx"))
    spec = ModelSpec(
        name="change",
        kind=OutputKind.TILED_CLASSIFIER,
        classes=("smoke", "flame"),
        input=InputSpec(size=(SIZE, SIZE)),
        output=OutputSpec(activation="none"),
        tiling=TilingSpec(rows=2),
        temporal=TemporalSpec(reference_s=reference_s, mode=mode),
        thresholds={"smoke": 0.5, "flame": 0.5},
    )
    write_spec(out, spec)
    return out


def view(ts: float, plume: bool) -> Frame:
    image = np.full((360, 640, 3), SKY, np.uint8)
    if plume:
        image[180:300, 260:380] = PLUME
    return Frame("cam", ts, int(ts), image)


def smoke(model: OnnxModel, frame: Frame) -> float:
    (det,), _ = model.score([frame])
    return det.scores["smoke"]


@pytest.mark.parametrize("mode", list(TemporalMode))
def test_each_tile_is_fed_with_the_same_box_reference_s_earlier(
    tmp_path: Path, mode: TemporalMode
) -> None:
    model = OnnxModel(change_model(tmp_path / "m", mode))
    assert smoke(model, view(0.0, plume=False)) < STILL
    # 100 s later: no view 300 s old yet, so the frame is its own reference and shows no change
    assert smoke(model, view(100.0, plume=True)) < STILL
    # 300 s after the clear view: the plume is a change against it
    assert smoke(model, view(300.0, plume=True)) > CHANGED
    # 700 s: the reference is now a view with the plume already in it
    assert smoke(model, view(700.0, plume=True)) < STILL


def test_a_forgotten_camera_starts_again_with_itself_as_reference(tmp_path: Path) -> None:
    model = OnnxModel(change_model(tmp_path / "m", TemporalMode.STACK6))
    smoke(model, view(0.0, plume=False))
    model.forget("cam")
    assert smoke(model, view(300.0, plume=True)) < STILL


def test_reference_views_per_camera_are_bounded(tmp_path: Path) -> None:
    spec = load_spec(change_model(tmp_path / "m", TemporalMode.STACK6, reference_s=60.0))
    views = ReferenceViews(spec)
    image = view(0.0, plume=False).image
    for step in range(200):  # one frame every 5 s for 1000 s
        crops = views.crops(image, step * 5.0, [(0.0, 0.0, 0.5, 1.0)])
        assert crops[0].shape == (SIZE, SIZE, 3)
    assert views.kept <= 5


def test_cameras_do_not_share_references(tmp_path: Path) -> None:
    model = OnnxModel(change_model(tmp_path / "m", TemporalMode.STACK6))
    smoke(model, view(0.0, plume=False))
    other = Frame("other", 300.0, 300, view(300.0, plume=True).image)
    assert smoke(model, other) < STILL  # its first frame: its own reference


def test_temporal_section_is_written_and_read_back(tmp_path: Path) -> None:
    spec = load_spec(change_model(tmp_path / "m", TemporalMode.DIFF, reference_s=240.0))
    assert spec.temporal == TemporalSpec(reference_s=240.0, mode=TemporalMode.DIFF)
    assert spec.input_channels == 6


def test_single_frame_models_keep_their_model_yaml(plume_model_dir: Path) -> None:
    text = (plume_model_dir / "model.yaml").read_text()
    assert "temporal" not in text
    assert load_spec(plume_model_dir).input_channels == 3


@pytest.mark.parametrize(
    ("temporal", "message"),
    [
        ({"reference_s": 300, "mode": "optical-flow"}, "mode"),
        ({"reference_s": 0}, "reference_s"),
        ({"reference_s": 300, "frames": 4}, "frames"),
    ],
)
def test_bad_temporal_section_is_named(
    tmp_path: Path, temporal: dict[str, object], message: str
) -> None:
    model_dir = change_model(tmp_path / "m", TemporalMode.STACK6)
    raw = yaml.safe_load((model_dir / "model.yaml").read_text())
    raw["temporal"] = temporal
    (model_dir / "model.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(ModelError, match=message):
        load_spec(model_dir)


def test_temporal_input_is_refused_for_yolo_models(tmp_path: Path) -> None:
    model_dir = change_model(tmp_path / "m", TemporalMode.STACK6)
    raw = yaml.safe_load((model_dir / "model.yaml").read_text())
    raw["kind"] = "yolo"
    (model_dir / "model.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(ModelError, match="tiled_classifier"):
        load_spec(model_dir)
