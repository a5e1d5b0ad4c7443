"""One onnxruntime session shared by every camera: prepare -> infer -> postprocess, each timed."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from detector.focus import ChangeFocus
from detector.masks import MaskSet
from detector.modelspec import ModelError, ModelSpec, OutputKind, TemporalMode, load_spec
from detector.night import Light, NightRule
from detector.postprocess import activate, tile_regions, yolo_regions
from detector.preprocess import crops_for, cut, to_tensor
from detector.reference import ReferenceViews
from detector.types import Box, Detection
from streams.frame import Frame

log = logging.getLogger(__name__)

NO_MASK = MaskSet()


@dataclass(frozen=True, slots=True)
class StageTimes:
    """Seconds spent in each stage of one batch."""

    preprocess: float
    inference: float
    postprocess: float

    def as_dict(self) -> dict[str, float]:
        return {
            "preprocess": self.preprocess,
            "inference": self.inference,
            "postprocess": self.postprocess,
        }


@dataclass(frozen=True, slots=True)
class CameraRules:
    """Per-camera settings: ignore masks, class thresholds, and whether to cut focus crops."""

    mask: MaskSet = NO_MASK
    thresholds: Mapping[str, float] | None = None
    focus: bool = True


def choose_providers(requested: Sequence[str]) -> list[str]:
    """Keep the requested execution providers this onnxruntime build has, CPU always last."""
    available = set(ort.get_available_providers())
    chosen = [p for p in requested if p in available and p != "CPUExecutionProvider"]
    missing = [p for p in requested if p not in available]
    if missing:
        log.warning("execution providers %s not available; using %s", missing, chosen or "CPU")
    return [*chosen, "CPUExecutionProvider"]


class OnnxModel:
    """A loaded model directory. :meth:`score` may run on several threads at once.

    >>> model = OnnxModel(Path("models/ember-tiles-v3"))  # doctest: +SKIP
    >>> detections, times = model.score([frame])  # doctest: +SKIP
    """

    def __init__(
        self,
        model_dir: Path,
        *,
        providers: Sequence[str] = ("CPUExecutionProvider",),
        intra_op_threads: int = 0,
        spin_wait: bool = False,
    ) -> None:
        self.spec: ModelSpec = load_spec(model_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
        # Memory patterns are planned per input shape; batch sizes vary from run to run, so they
        # only add resident memory (measured: +60 MB at 32 inputs, no faster).
        options.enable_mem_pattern = False
        # onnxruntime's worker threads spin after each run by default; between the batches of a
        # service that burns a core doing nothing while decode threads wait (measured: CPU
        # time per run doubles at 2 threads), so spinning is off unless asked for.
        spin = "1" if spin_wait else "0"
        options.add_session_config_entry("session.intra_op.allow_spinning", spin)
        options.add_session_config_entry("session.inter_op.allow_spinning", spin)
        try:
            self.session = ort.InferenceSession(
                str(model_dir / self.spec.file), options, providers=choose_providers(providers)
            )
        except (ort.capi.onnxruntime_pybind11_state.Fail, RuntimeError) as exc:  # type: ignore[attr-defined]
            raise ModelError(f"{model_dir / self.spec.file} cannot be loaded: {exc}") from exc
        # Tensor names come from the file, never from assumptions.
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name
        self.providers = self.session.get_providers()
        self.classes = self.spec.output_classes
        self._focus: dict[str, ChangeFocus] = {}  # camera id -> its recent views
        self._references: dict[str, ReferenceViews] = {}  # temporal models: camera id -> views
        self._warm_up()

    def _warm_up(self) -> None:
        width, height = self.spec.input.size
        blank = list(np.zeros((1, height, width, 3), dtype=np.uint8))
        self._run(self._tensor(blank, blank))

    def _tensor(self, crops: list[np.ndarray], references: list[np.ndarray]) -> np.ndarray:
        """The network input: the crops, and with a temporal input their references too."""
        tensor = to_tensor(crops, self.spec.input)
        temporal = self.spec.temporal
        if temporal is None:
            return tensor
        reference = to_tensor(references, self.spec.input)
        if temporal.mode is TemporalMode.DIFF:
            reference = tensor - reference
        axis = 1 if self.spec.input.layout == "NCHW" else 3
        return np.concatenate([tensor, reference], axis=axis)

    def _run(self, tensor: np.ndarray) -> np.ndarray:
        out = self.session.run([self.output_name], {self.input_name: tensor})[0]
        return np.asarray(out, dtype=np.float32)

    def inputs_per_frame(self, width: int, height: int) -> int:
        """How many network inputs one frame of this size becomes."""
        if self.spec.kind is OutputKind.YOLO:
            return 1
        return len(self.spec.tiling.boxes(width, height)) + self.spec.focus.crops

    def thresholds(self, overrides: Mapping[str, float] | None = None) -> dict[str, float]:
        base = {cls: self.spec.threshold(cls) for cls in self.classes}
        return base | {k: v for k, v in (overrides or {}).items() if k in base}

    def night_thresholds(self, overrides: Mapping[str, float] | None = None) -> dict[str, float]:
        """Opening thresholds at night: the model's night values, except where the camera set
        its own threshold for a class (an operator's choice wins by day and by night)."""
        night = {k: v for k, v in self.spec.night_thresholds.items() if k not in (overrides or {})}
        return self.thresholds(overrides) | night

    def night_rule(
        self, light: Light, overrides: Mapping[str, float] | None = None
    ) -> NightRule | None:
        """The smoother's night switch for a camera, None when night changes no threshold."""
        night = self.night_thresholds(overrides)
        return None if night == self.thresholds(overrides) else NightRule(night, light)

    def score(
        self, frames: Sequence[Frame], rules: Mapping[str, CameraRules] | None = None
    ) -> tuple[list[Detection], StageTimes]:
        """Score frames of any cameras in one batch.

        ``rules`` maps camera id to its masks and thresholds (defaults: none, the model's).
        Returns one :class:`Detection` per frame, in order, and the time of each stage.
        """
        rules = rules or {}
        t0 = time.perf_counter()
        crops: list[np.ndarray] = []
        references: list[np.ndarray] = []
        spans: list[tuple[int, int, list[Box], int]] = []
        for frame in frames:
            rule = rules.get(frame.camera_id, CameraRules())
            image = rule.mask.apply(frame.image)
            frame_crops, boxes = crops_for(image, self.spec)
            tiles = len(boxes)
            focus = self._focus_boxes(frame, image) if rule.focus else []
            frame_crops = frame_crops + cut(image, focus, self.spec.input.size)
            boxes = boxes + focus
            spans.append((len(crops), len(crops) + len(frame_crops), boxes, tiles))
            crops.extend(frame_crops)
            references.extend(self._reference_crops(frame, image, boxes))
        tensor = self._tensor(crops, references)
        t1 = time.perf_counter()
        raw = self._run(tensor)
        t2 = time.perf_counter()
        detections = [
            self._post(
                frame, raw[start:end], boxes, tiles, rules.get(frame.camera_id, CameraRules())
            )
            for frame, (start, end, boxes, tiles) in zip(frames, spans, strict=True)
        ]
        t3 = time.perf_counter()
        return detections, StageTimes(t1 - t0, t2 - t1, t3 - t2)

    def _focus_boxes(self, frame: Frame, image: np.ndarray) -> list[Box]:
        """Focus crops of the frame's camera (none when the model has none)."""
        if self.spec.kind is OutputKind.YOLO or not self.spec.focus.crops:
            return []
        focus = self._focus.get(frame.camera_id)
        if focus is None:
            focus = self._focus[frame.camera_id] = ChangeFocus(self.spec.focus)
        return focus.boxes(image, frame.ts)

    def _reference_crops(
        self, frame: Frame, image: np.ndarray, boxes: list[Box]
    ) -> list[np.ndarray]:
        """Temporal models: the same boxes of the camera's view ``reference_s`` earlier."""
        if self.spec.temporal is None:
            return []
        views = self._references.get(frame.camera_id)
        if views is None:
            views = self._references[frame.camera_id] = ReferenceViews(self.spec)
        return views.crops(image, frame.ts, boxes)

    def forget(self, camera_id: str) -> None:
        """Drop what is kept about a camera's view (it was removed or replaced)."""
        self._focus.pop(camera_id, None)
        self._references.pop(camera_id, None)

    def _post(
        self, frame: Frame, raw: np.ndarray, boxes: list[Box], tiles: int, rule: CameraRules
    ) -> Detection:
        thresholds = self.thresholds(rule.thresholds)
        if self.spec.kind is OutputKind.YOLO:
            scores, regions = yolo_regions(raw[0], self.spec, thresholds, rule.mask)
            return Detection(frame, scores, regions)
        probs = activate(raw, self.spec.output.activation)
        keep = [i for i, c in enumerate(self.spec.classes) if c in self.classes]
        scores, regions = tile_regions(probs[:, keep], boxes, self.classes, thresholds)
        return Detection(frame, scores, regions, tuple(boxes), probs[:, keep], tiles)
