"""The last layer of a tiled network: found in its ONNX graph, replaced, and fitted again on
features of the network below it.

A tiled network ends in a ``Gemm`` (features -> one logit per class). :class:`FeatureScorer` runs
the graph up to that layer's input; :func:`fit` learns new rows for it from labelled tiles and
from labelled *frames*, each frame a bag of tiles whose score is its strongest tile, as the
detector decides. Plain numpy, full batch: seconds per fit on a CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from detector.modelspec import InputSpec
from detector.preprocess import to_tensor


@dataclass(frozen=True, slots=True)
class Head:
    """The last layer: ``logits = features @ weight.T + bias``."""

    weight: np.ndarray  # [C, D]
    bias: np.ndarray  # [C]

    def logits(self, features: np.ndarray) -> np.ndarray:
        return np.asarray(features @ self.weight.T + self.bias)


@dataclass(frozen=True, slots=True)
class Tiles:
    """Training tiles as features, with labels ``[N, C]`` (1, 0, or -1 to ignore)."""

    features: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True, slots=True)
class Bags:
    """Labelled frames as bags of tile features. ``frame [M]`` says whose each tile is;
    ``targets [F, C]`` is 1, 0 or NaN (no say) per frame and class."""

    features: np.ndarray
    frame: np.ndarray
    targets: np.ndarray
    camera: np.ndarray  # [F]

    def only(self, frames: np.ndarray) -> Bags:
        """The same bags with every frame outside ``frames`` given no say."""
        targets = np.full_like(self.targets, np.nan)
        targets[frames] = self.targets[frames]
        return replace(self, targets=targets)


@dataclass(frozen=True, slots=True)
class RefitConfig:
    classes: tuple[int, ...]  # rows of the layer that learn
    alpha: float = 0.3  # weight of the bags against the tiles
    lam: float = 1e-3  # pull towards the shipped layer
    steps: int = 300
    lr: float = 0.01
    sharpness: float = 4.0  # of the smooth maximum over a frame's tiles


# --- the network's last layer ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Classifier:
    """Where the last layer sits in the graph: its input and its two initialisers."""

    features: str
    weight: str
    bias: str


def find_classifier(model: onnx.ModelProto) -> Classifier:
    """The ``Gemm`` that writes the graph's first output, as ``features @ weight.T + bias``.

    Raises:
        ValueError: the output is not written by such a Gemm with initialised weight and bias.
    """
    output = model.graph.output[0].name
    node = next((n for n in model.graph.node if output in n.output), None)
    names = {i.name for i in model.graph.initializer}
    if node is None or node.op_type != "Gemm" or not set(node.input[1:3]) <= names:
        raise ValueError(f"output {output!r} is not written by a Gemm with fixed weights")
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    plain = {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 1}
    if any(attrs.get(k, 0 if k.startswith("trans") else 1.0) != v for k, v in plain.items()):
        raise ValueError(f"the Gemm writing {output!r} is not features @ weight.T + bias")
    return Classifier(node.input[0], node.input[1], node.input[2])


def read_head(model: onnx.ModelProto) -> Head:
    where = find_classifier(model)
    init = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    return Head(init[where.weight].astype(np.float32), init[where.bias].astype(np.float32))


def with_head(model: onnx.ModelProto, head: Head) -> onnx.ModelProto:
    """A copy of ``model`` whose last layer is ``head``."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    where = find_classifier(out)
    for init in out.graph.initializer:
        if init.name in (where.weight, where.bias):
            value = head.weight if init.name == where.weight else head.bias
            init.CopyFrom(numpy_helper.from_array(value.astype(np.float32), init.name))
    return out


class FeatureScorer:
    """The network up to its last layer, on onnxruntime."""

    def __init__(self, model: onnx.ModelProto, spec: InputSpec, threads: int = 0) -> None:
        probe = onnx.ModelProto()
        probe.CopyFrom(model)
        name = find_classifier(probe).features
        probe.graph.output.append(
            onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
        )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self._session = ort.InferenceSession(
            probe.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name
        self._name = name
        self._spec = spec

    def features(self, crops: Sequence[np.ndarray], batch: int = 64) -> np.ndarray:
        """``[N, D]`` features of RGB crops (already at the network's input size)."""
        out = [
            self._session.run([self._name], {self._input: to_tensor(list(part), self._spec)})[0]
            for part in (crops[i : i + batch] for i in range(0, len(crops), batch))
        ]
        return np.concatenate(out).reshape(len(crops), -1).astype(np.float32)


# --- fitting ----------------------------------------------------------------------------------


def sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def strongest(logits: np.ndarray, frame: np.ndarray, frames: int) -> np.ndarray:
    """Per frame and class, the highest tile logit ``[F, C]`` (-inf for a frame without tiles):
    what the detector decides on.

    >>> strongest(np.array([[1.0], [3.0], [2.0]]), np.array([0, 0, 1]), 2).ravel().tolist()
    [3.0, 2.0]
    """
    top = np.full((frames, logits.shape[1]), -np.inf)
    np.maximum.at(top, frame, logits)
    return top


def soft_strongest(
    logits: np.ndarray, frame: np.ndarray, frames: int, sharpness: float
) -> tuple[np.ndarray, np.ndarray]:
    """A smooth maximum per frame and class, ``log(sum(exp(s * z))) / s``, and each tile's
    share of it (a softmax within its frame). Learning through the plain maximum only ever moves
    the strongest tile, which may be a street light that every negative frame has too; the
    smooth one also lifts the tile that only fire frames have.

    >>> top, share = soft_strongest(np.array([[0.0], [0.0], [5.0]]), np.array([0, 0, 1]), 2, 1.0)
    >>> np.round(top.ravel(), 3).tolist(), share.ravel().tolist()
    ([0.693, 5.0], [0.5, 0.5, 1.0])
    """
    peak = strongest(logits, frame, frames)
    scaled = np.exp(sharpness * (logits - peak[frame]))
    total = np.zeros_like(peak)
    np.add.at(total, frame, scaled)
    with np.errstate(divide="ignore"):
        top = peak + np.log(total) / sharpness
    return top, scaled / total[frame]


def _tile_gradient(head: Head, tiles: Tiles) -> tuple[np.ndarray, np.ndarray]:
    known = tiles.labels >= 0
    err = np.where(known, sigmoid(head.logits(tiles.features)) - np.clip(tiles.labels, 0, 1), 0)
    err = err / max(int(known.sum()), 1)
    return err.T @ tiles.features, err.sum(axis=0)


def _bag_gradient(head: Head, bags: Bags, sharpness: float) -> tuple[np.ndarray, np.ndarray]:
    top, share = soft_strongest(
        head.logits(bags.features), bags.frame, len(bags.targets), sharpness
    )
    said = ~np.isnan(bags.targets) & np.isfinite(top)
    err = np.where(said, sigmoid(top) - np.nan_to_num(bags.targets), 0.0)
    err = err / np.maximum(said.sum(axis=0), 1)
    per_tile = err[bags.frame] * share  # [M, C]
    return per_tile.T @ bags.features, per_tile.sum(axis=0)


def fit(base: Head, tiles: Tiles, bags: Bags, cfg: RefitConfig) -> Head:
    """Full-batch Adam from ``base``; rows outside ``cfg.classes`` stay as they are."""
    params = [base.weight.copy(), base.bias.copy()]
    moments = [[np.zeros_like(p), np.zeros_like(p)] for p in params]
    learn = np.zeros(len(base.bias), dtype=bool)
    learn[list(cfg.classes)] = True
    for step in range(1, cfg.steps + 1):
        head = Head(*params)
        tile_w, tile_b = _tile_gradient(head, tiles)
        bag_w, bag_b = _bag_gradient(head, bags, cfg.sharpness)
        grads = [
            tile_w + cfg.alpha * bag_w + cfg.lam * (params[0] - base.weight),
            tile_b + cfg.alpha * bag_b,
        ]
        for p, g, (m, v) in zip(params, grads, moments, strict=True):
            g[~learn] = 0.0
            m += 0.1 * (g - m)
            v += 0.001 * (g * g - v)
            p -= cfg.lr * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return Head(*params)


# --- judged leave one camera out --------------------------------------------------------------


def frame_scores(head: Head, bags: Bags) -> np.ndarray:
    """``[F, C]`` probability of each frame's strongest tile."""
    return sigmoid(strongest(head.logits(bags.features), bags.frame, len(bags.targets)))


def leave_one_camera_out(base: Head, tiles: Tiles, bags: Bags, cfg: RefitConfig) -> np.ndarray:
    """``[F, C]`` scores of every frame by a layer fitted without its camera's frames."""
    scores = np.zeros(bags.targets.shape)
    for camera in sorted(set(bags.camera.tolist())):
        held = bags.camera == camera
        head = fit(base, tiles, bags.only(np.flatnonzero(~held)), cfg)
        scores[held] = frame_scores(head, bags)[held]
    return scores
