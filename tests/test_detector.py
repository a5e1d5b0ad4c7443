"""Model directory contract, tiling, postprocessing and the shared ONNX session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import yaml
from onnx import TensorProto, helper

from detector.masks import MaskSet
from detector.model import CameraRules, OnnxModel
from detector.modelspec import (
    InputSpec,
    ModelError,
    ModelSpec,
    OutputKind,
    OutputSpec,
    load_spec,
    write_spec,
)
from detector.tiling import tile_boxes
from streams.frame import Frame

SKY, PLUME = (110, 150, 210), (150, 138, 125)


def frame(camera: str, plume_at: tuple[int, int] | None = None) -> Frame:
    image = np.full((360, 640, 3), SKY, np.uint8)
    if plume_at is not None:
        x, y = plume_at
        image[y : y + 60, x : x + 50] = PLUME
    return Frame(camera, 0.0, 0, image)


@pytest.mark.parametrize(
    ("size", "rows", "overlap", "count"),
    [
        ((1920, 1080), 2, 0.0, 8),
        ((1920, 1080), 1, 0.0, 2),
        ((640, 480), 2, 0.0, 6),
        ((640, 480), 1, 0.0, 2),
        ((1920, 1080), 3, 0.1, 18),
        ((100, 400), 1, 0.0, 1),
    ],
)
def test_tiles_cover_the_frame(
    size: tuple[int, int], rows: int, overlap: float, count: int
) -> None:
    boxes = tile_boxes(*size, rows=rows, min_overlap=overlap)
    assert len(boxes) == count
    assert min(b[0] for b in boxes) == 0 and max(b[2] for b in boxes) == pytest.approx(1)
    assert max(b[3] for b in boxes) == pytest.approx(1)
    side_px = [(b[2] - b[0]) * size[0] for b in boxes]
    assert max(side_px) <= size[1] / rows + 1e-6  # square (or narrower) tiles


def test_row_overlap_adds_a_row_across_the_middle() -> None:
    plain = tile_boxes(1920, 1080, rows=2, min_overlap=0.1)
    staggered = tile_boxes(1920, 1080, rows=2, min_overlap=0.1, row_overlap=0.5)
    assert len(staggered) == 12 and len(plain) == 8
    tops = sorted({round(b[1], 6) for b in staggered})
    assert tops == [0.0, 0.25, 0.5]  # a row straddling the edge between the two plain rows
    assert {b[:1] + b[2:3] for b in staggered} == {b[:1] + b[2:3] for b in plain}  # same columns
    assert all(b[3] - b[1] == pytest.approx(0.5) for b in staggered)  # same scale
    assert max(b[3] for b in staggered) == pytest.approx(1)


def test_row_overlap_in_model_yaml_sets_the_inputs_per_frame(
    plume_model_dir: Path, tmp_path: Path
) -> None:
    raw = yaml.safe_load((plume_model_dir / "model.yaml").read_text())
    raw["tiling"] = {"rows": 2, "min_overlap": 0.1, "row_overlap": 0.5}
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(raw))
    (tmp_path / "model.onnx").write_bytes((plume_model_dir / "model.onnx").read_bytes())
    model = OnnxModel(tmp_path)
    assert model.inputs_per_frame(1920, 1080) == 12
    image = np.full((1080, 1920, 3), SKY, np.uint8)
    (det,), _ = model.score([Frame("cam", 0.0, 0, image)])
    assert det.tile_scores is not None and det.tile_scores.shape == (12, len(model.classes))
    raw["tiling"]["row_overlap"] = 1.0
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(ModelError, match="row_overlap"):
        load_spec(tmp_path)


def test_missing_model_dir_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        load_spec(tmp_path / "nope")


def test_sha256_mismatch_is_refused(plume_model_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "m"
    copy.mkdir()
    (copy / "model.yaml").write_text((plume_model_dir / "model.yaml").read_text())
    (copy / "model.onnx").write_bytes((plume_model_dir / "model.onnx").read_bytes() + b"x")
    with pytest.raises(ModelError, match="sha256 mismatch"):
        OnnxModel(copy)


def test_unknown_key_in_model_yaml_is_named(plume_model_dir: Path, tmp_path: Path) -> None:
    raw = yaml.safe_load((plume_model_dir / "model.yaml").read_text())
    raw["colour"] = "red"
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(raw))
    (tmp_path / "model.onnx").write_bytes((plume_model_dir / "model.onnx").read_bytes())
    with pytest.raises(ModelError, match="colour"):
        load_spec(tmp_path)


def test_batch_across_cameras_matches_one_by_one(plume_model_dir: Path) -> None:
    model = OnnxModel(plume_model_dir)
    frames = [frame("a"), frame("b", (100, 50)), frame("c", (500, 250))]
    batched, _ = model.score(frames)
    single = [model.score([f])[0][0] for f in frames]
    for b, s in zip(batched, single, strict=True):
        assert b.scores == pytest.approx(s.scores)
    assert batched[0].scores["smoke"] < 0.1 and not batched[0].regions
    assert batched[1].scores["smoke"] > 0.9
    (region,) = {r.box for r in batched[2].regions if r.box[0] > 0.7}
    assert region[1] == 0.5  # plume in the bottom-right tile


def test_mask_hides_the_masked_area(plume_model_dir: Path) -> None:
    model = OnnxModel(plume_model_dir)
    plume = frame("a", (100, 50))
    mask = MaskSet.of([[(0.1, 0.1), (0.3, 0.1), (0.3, 0.35), (0.1, 0.35)]])
    (det,), _ = model.score([plume], {"a": CameraRules(mask=mask)})
    assert det.scores["smoke"] < 0.1
    assert plume.image[60, 110].tolist() == list(PLUME)  # the frame itself is untouched


def test_per_camera_threshold_override(plume_model_dir: Path) -> None:
    model = OnnxModel(plume_model_dir)
    rules = {"a": CameraRules(thresholds=model.thresholds({"smoke": 1.01}))}
    (det,), _ = model.score([frame("a", (100, 50))], rules)
    assert det.scores["smoke"] > 0.9 and det.regions == ()


def _constant_yolo(model_dir: Path, boxes: np.ndarray) -> Path:
    """A YOLO-kind model whose output ``[n, 4 + C, N]`` is ``boxes`` whatever the input."""
    model_dir.mkdir()
    nodes = [
        helper.make_node("ReduceSum", ["x"], ["s"], keepdims=1),
        helper.make_node("Mul", ["s", "zero"], ["z"]),
        helper.make_node("Reshape", ["z", "shape"], ["z3"]),
        helper.make_node("Add", ["z3", "const"], ["out"]),
    ]
    graph = helper.make_graph(
        nodes,
        "yolo_const",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 32, 32])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["n", *boxes.shape])],
        initializer=[
            helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
            helper.make_tensor("shape", TensorProto.INT64, [3], [-1, 1, 1]),
            helper.make_tensor(
                "const",
                TensorProto.FLOAT,
                [1, *boxes.shape],
                boxes.astype(np.float32).ravel().tolist(),
            ),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(model_dir / "model.onnx"))
    spec = ModelSpec(
        name="yolo-const",
        kind=OutputKind.YOLO,
        classes=("smoke", "flame"),
        input=InputSpec(size=(32, 32)),
        output=OutputSpec(activation="none"),
        thresholds={"smoke": 0.5, "flame": 0.5},
    )
    write_spec(model_dir, spec)
    return model_dir


def test_yolo_output_is_decoded_with_nms(tmp_path: Path) -> None:
    # columns: (cx, cy, w, h, smoke, flame) in input pixels of a 32x32 input
    preds = np.array(
        [
            [8, 8, 8, 8, 0.9, 0.0],  # smoke, kept
            [8.5, 8, 8, 8, 0.8, 0.0],  # overlaps the first: suppressed
            [24, 24, 4, 4, 0.0, 0.7],  # flame
            [16, 16, 4, 4, 0.3, 0.1],  # below thresholds
        ]
    ).T
    model = OnnxModel(_constant_yolo(tmp_path / "y", preds))
    (det,), _ = model.score([frame("a")])
    assert det.scores == pytest.approx({"smoke": 0.9, "flame": 0.7})
    assert [(r.cls, round(r.score, 2)) for r in det.regions] == [("smoke", 0.9), ("flame", 0.7)]
    assert det.regions[0].box == pytest.approx((0.125, 0.125, 0.375, 0.375))
    masked = CameraRules(mask=MaskSet.of([[(0.6, 0.6), (1, 0.6), (1, 1), (0.6, 1)]]))
    (det,), _ = model.score([frame("a")], {"a": masked})
    assert [r.cls for r in det.regions] == ["smoke"]


def test_committed_demo_model_is_what_the_generator_writes(tmp_path: Path) -> None:
    from benchmarks.synth_model import build_plume_model
    from detector.config import DEMO_MODEL

    fresh = build_plume_model(tmp_path / "demo")
    assert (fresh / "model.onnx").read_bytes() == (DEMO_MODEL / "model.onnx").read_bytes()
    assert load_spec(DEMO_MODEL).name == "demo-plume"


def test_model_yaml_errors_name_the_file_line_and_key(
    plume_model_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "model.onnx").write_bytes((plume_model_dir / "model.onnx").read_bytes())
    (tmp_path / "model.yaml").write_text("name: x\n  kind: [\n")
    with pytest.raises(ModelError) as broken:
        load_spec(tmp_path)
    assert str(broken.value).startswith(f"{tmp_path / 'model.yaml'} is not valid YAML: line 2")
    raw = yaml.safe_load((plume_model_dir / "model.yaml").read_text())
    raw["tiling"]["row_overlap"] = 1.0
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(ModelError) as invalid:
        load_spec(tmp_path)
    assert str(invalid.value).startswith(f"{tmp_path / 'model.yaml'} is invalid: tiling")
    assert "Value error" not in str(invalid.value) and "pydantic.dev" not in str(invalid.value)
