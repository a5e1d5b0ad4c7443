"""The model directory contract: ``model.onnx`` + ``model.yaml`` (+ ``CARD.md``).

``model.yaml`` describes everything the detector needs to feed the network and read its output,
so any ONNX model that follows one of the two output kinds can be dropped in::

    name: ember-tiles-v3
    file: model.onnx
    sha256: 3f1c...            # of model.onnx, checked at load
    kind: tiled_classifier     # or "yolo"
    classes: [smoke, flame]
    input:
      size: [224, 224]         # width, height of one network input
      layout: NCHW             # or NHWC
      mean: [0.485, 0.456, 0.406]   # applied after scaling to 0..1, RGB order
      std: [0.229, 0.224, 0.225]
    output:
      activation: sigmoid      # none | sigmoid | softmax, applied by the detector
    tiling:                    # tiled_classifier only
      rows: 2                  # square tiles, side = frame height / rows
      min_overlap: 0.1         # columns overlap at least this fraction of a tile
      row_overlap: 0.5         # optional: extra rows so rows overlap this much (default 0)
    focus:                     # tiled_classifier only, optional (default: off)
      crops: 3                 # extra tiles a frame, centred on the strongest changes of the view
      size: 0.22               # their side as a share of the frame height
      reference_s: 120         # compared with the camera's view this long before
    temporal:                  # tiled_classifier only, optional (default: one frame per input)
      reference_s: 300         # each input also carries the same box this long before
      mode: stack6             # stack6: channels current RGB, reference RGB; diff: current
                               # RGB, current - reference (both normalised first)
    thresholds: {smoke: 0.5, flame: 0.5}
    night_thresholds: {flame: 0.25}  # optional: opening thresholds while a camera sees night
                                     # (detector.night.Light); classes not named keep theirs
    licence: {weights: ..., data: ...}
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from detector.tiling import tile_boxes
from detector.types import Box
from streams.validation import describe, yaml_problem


class ModelError(Exception):
    """A model directory is missing, malformed or does not match its checksum."""


class OutputKind(StrEnum):
    TILED_CLASSIFIER = "tiled_classifier"
    YOLO = "yolo"


class Activation(StrEnum):
    NONE = "none"
    SIGMOID = "sigmoid"
    SOFTMAX = "softmax"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputSpec(_Strict):
    size: tuple[int, int] = Field(description="Network input width and height in pixels.")
    layout: str = Field("NCHW", pattern="^(NCHW|NHWC)$")
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)


class OutputSpec(_Strict):
    activation: Activation = Activation.SIGMOID
    background_class: str | None = Field(
        None, description="Softmax class that means 'nothing', dropped from the scores."
    )
    nms_iou: float = Field(0.45, gt=0, le=1, description="YOLO only: IoU for non-max suppression.")


class TilingSpec(_Strict):
    rows: int = Field(2, ge=1, le=8, description="Tile rows; tile side = frame height / rows.")
    min_overlap: float = Field(0.0, ge=0, lt=1, description="Least overlap between columns.")
    row_overlap: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Least overlap between rows; above 0, rows are added to reach it "
        "(0.5 with 2 rows adds a row across the middle of the frame).",
    )

    def boxes(self, width: int, height: int) -> list[Box]:
        """The tiles of a ``width`` x ``height`` frame (see :func:`detector.tiling.tile_boxes`)."""
        return tile_boxes(width, height, self.rows, self.min_overlap, self.row_overlap)


class FocusSpec(_Strict):
    """Focus crops (:mod:`detector.focus`): extra, smaller tiles where the view changed."""

    crops: int = Field(0, ge=0, le=16, description="Focus crops a frame; 0 turns them off.")
    size: float = Field(
        0.22, gt=0, le=1, description="Side of a focus crop as a share of the frame height."
    )
    reference_s: float = Field(
        120.0, gt=0, description="Each frame is compared with the view this many seconds before."
    )


class TemporalMode(StrEnum):
    STACK6 = "stack6"
    DIFF = "diff"


class TemporalSpec(_Strict):
    """A temporal input (:mod:`detector.reference`): every tile together with the same box of
    the camera's view ``reference_s`` earlier, as six channels."""

    reference_s: float = Field(
        300.0, gt=0, description="The reference view is at least this many seconds older."
    )
    mode: TemporalMode = Field(
        TemporalMode.STACK6,
        description="stack6: current RGB then reference RGB; diff: current RGB then "
        "current minus reference (each normalised by mean/std first).",
    )


class ModelSpec(_Strict):
    name: str
    file: str = "model.onnx"
    sha256: str | None = Field(None, pattern="^[0-9a-f]{64}$")
    kind: OutputKind
    classes: tuple[str, ...] = Field(min_length=1)
    input: InputSpec
    output: OutputSpec = OutputSpec()
    tiling: TilingSpec = TilingSpec()
    focus: FocusSpec = FocusSpec()
    temporal: TemporalSpec | None = None
    thresholds: dict[str, float] = Field(default_factory=dict)
    night_thresholds: dict[str, float] = Field(default_factory=dict)
    licence: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict, description="Free-form, for people.")

    @model_validator(mode="after")
    def _thresholds_name_classes(self) -> ModelSpec:
        named_classes = {"thresholds": self.thresholds, "night_thresholds": self.night_thresholds}
        for field_name, named in named_classes.items():
            unknown = set(named) - set(self.classes)
            if unknown:
                raise ValueError(f"{field_name} name unknown classes: {sorted(unknown)}")
        if self.temporal is not None and self.kind is not OutputKind.TILED_CLASSIFIER:
            raise ValueError("temporal input is for tiled_classifier models only")
        return self

    @property
    def input_channels(self) -> int:
        """Channels of one network input: 3, or 6 with a temporal input."""
        return 3 if self.temporal is None else 6

    def threshold(self, cls: str, default: float = 0.5) -> float:
        return self.thresholds.get(cls, default)

    @property
    def output_classes(self) -> tuple[str, ...]:
        """Classes reported to the rest of the system (the background class removed)."""
        return tuple(c for c in self.classes if c != self.output.background_class)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_spec(model_dir: Path, *, verify: bool = True) -> ModelSpec:
    """Read and validate ``model_dir/model.yaml``; check the ONNX file's sha256 when given.

    Raises:
        ModelError: naming the directory and what is wrong with it.
    """
    yaml_path = model_dir / "model.yaml"
    if not model_dir.is_dir():
        raise ModelError(f"model directory {model_dir} does not exist")
    if not yaml_path.is_file():
        raise ModelError(f"{yaml_path} is missing")
    try:
        with yaml_path.open(encoding="utf-8") as stream:
            raw = yaml.safe_load(stream)
        spec = ModelSpec.model_validate(raw)
    except yaml.YAMLError as exc:
        raise ModelError(yaml_problem(yaml_path, exc)) from exc
    except ValidationError as exc:
        problems = "; ".join(describe(exc.errors(), raw))
        raise ModelError(f"{yaml_path} is invalid: {problems}") from exc
    onnx_path = model_dir / spec.file
    if not onnx_path.is_file():
        raise ModelError(f"{onnx_path} is missing")
    if verify and spec.sha256 is not None:
        actual = file_sha256(onnx_path)
        if actual != spec.sha256:
            raise ModelError(
                f"{onnx_path} sha256 mismatch: model.yaml says {spec.sha256}, file is {actual}"
            )
    return spec


def write_spec(model_dir: Path, spec: ModelSpec) -> None:
    """Write ``model.yaml`` with the current sha256 of the ONNX file filled in."""
    sha = file_sha256(model_dir / spec.file)
    data = spec.model_copy(update={"sha256": sha}).model_dump(mode="json")
    if data["temporal"] is None:  # single-frame models keep the files they always had
        del data["temporal"]
    if not data["night_thresholds"]:
        del data["night_thresholds"]
    (model_dir / "model.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
