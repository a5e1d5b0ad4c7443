"""A temporal last layer on a single-frame network: the tile's features and how they changed.

    make train-change                     # = python -m models.training.change_head
    make train-change CHANGE_ARGS="--pairs 4000 --name try --out build/try"

The two temporal networks trained from scratch on composited pairs (``train_temporal``) were
weaker than the single-frame network on every judged count: what they gained from change they
lost in looks. This recipe keeps a single-frame network (the default ``ember-tiles-v4``) whole
and widens only its last layer to the features of a tile *and* of the same box ``reference_s``
earlier::

    logit = w . f(tile) + b  +  v . (f(tile) - f(reference))  +  u . |f(tile) - f(reference)|

``w`` and ``b`` are the shipped layer's and stay so; only ``v`` and ``u`` learn, from zero, with
an L2 pull back to zero. A tile whose features did not change scores exactly as before (a
camera's first minutes, with the view as its own reference, come close: the detector keeps that
reference resampled); the layer learns what a change of each feature says. Pairs come from
:mod:`models.training.composite` (real smoke pasted onto real views, real cloud and light change
of the FIgLib views, look-alikes) with a fixed seed, their features from the frozen network on
onnxruntime. The exported model takes the detector's six channels (``temporal: {mode:
stack6}``), runs the network on both halves as one batch and applies the wide layer: two network
passes per input.

It answers one question: do the frozen network's features carry a young plume's change? See
the card of ``ember-tiles-v4`` for the judged answer (they do not).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from detector.modelspec import ModelSpec, TemporalSpec, load_spec, write_spec
from models.training import composite, evaluate
from models.training.head import FeatureScorer, find_classifier, read_head, sigmoid
from models.training.metrics import roc_auc
from models.training.pools import load_pools

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


@dataclass(frozen=True)
class Config:
    data: Path
    base: Path
    out: Path
    name: str
    pairs: int
    val_pairs: int
    seed: int
    threads: int
    lam: float
    steps: int
    lr: float
    reference_s: float


def parse_args(argv: list[str] | None = None) -> Config:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=evaluate.default_data_dir())
    p.add_argument("--base", type=Path, default=REPO / "models" / "ember-tiles-v4")
    p.add_argument("--out", type=Path, default=REPO / "build" / "ember-change-v1")
    p.add_argument("--name", default="ember-change-v1")
    p.add_argument("--pairs", type=int, default=12000, help="training pairs")
    p.add_argument("--val-pairs", type=int, default=1500)
    p.add_argument("--seed", type=int, default=20261207)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lam", type=float, default=1e-2, help="L2 pull of the change weights to zero")
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--reference-s", type=float, default=300.0)
    a = p.parse_args(argv)
    return Config(**{k.replace("-", "_"): v for k, v in vars(a).items()})


# --- pairs as features ------------------------------------------------------------------------


@dataclass(frozen=True)
class PairFeatures:
    current: np.ndarray  # [N, D]
    reference: np.ndarray  # [N, D]
    labels: np.ndarray  # [N, C], NaN: unknown

    def stacked(self) -> np.ndarray:
        """``[N, 3D]``: the tile's features, their change, and its size."""
        change = self.current - self.reference
        return np.concatenate([self.current, change, np.abs(change)], axis=1)


def pair_features(
    pools: composite.Pools, scorer: FeatureScorer, count: int, seed: int, size: int
) -> PairFeatures:
    """``count`` composited pairs (fixed seed) through the frozen network."""
    rng = np.random.default_rng(seed)
    current, reference, labels = [], [], []
    for start in range(0, count, 256):
        items = [composite.make_pair(pools, rng, size) for _ in range(min(256, count - start))]
        current.append(scorer.features([c for c, _, _ in items]))
        reference.append(scorer.features([r for _, r, _ in items]))
        labels.append(np.stack([y for _, _, y in items]))
        print(f"pairs {start + len(items)}/{count}", flush=True)
    return PairFeatures(np.concatenate(current), np.concatenate(reference), np.concatenate(labels))


# --- the layer --------------------------------------------------------------------------------


def widen(weight: np.ndarray) -> np.ndarray:
    """The base layer ``[C, D]`` as a change layer ``[C, 3D]`` that ignores change."""
    return np.concatenate([weight, np.zeros_like(weight), np.zeros_like(weight)], axis=1)


def fit(
    base_w: np.ndarray, base_b: np.ndarray, pairs: PairFeatures, cfg: Config, rows: tuple[int, ...]
) -> np.ndarray:
    """The widened layer ``[C, 3D]`` after full-batch Adam on the masked logistic loss. Only the
    change weights of ``rows`` learn, from zero, with an L2 pull ``lam`` towards zero; the
    weights of the tile's own features and the bias stay the base layer's, so a view that did
    not change scores exactly as before."""
    x = pairs.stacked()
    w = widen(base_w)
    m, v = np.zeros_like(w), np.zeros_like(w)
    known = ~np.isnan(pairs.labels)
    target = np.nan_to_num(pairs.labels)
    learn = np.zeros_like(w, dtype=bool)
    learn[list(rows), base_w.shape[1] :] = True
    for step in range(1, cfg.steps + 1):
        err = np.where(known, sigmoid(x @ w.T + base_b) - target, 0.0)
        grad = err.T @ x / np.maximum(known.sum(0), 1)[:, None] + cfg.lam * w
        grad[~learn] = 0.0
        m += 0.1 * (grad - m)
        v += 0.001 * (grad * grad - v)
        w -= cfg.lr * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return w.astype(np.float32)


def auc_by_class(
    w: np.ndarray, b: np.ndarray, pairs: PairFeatures, classes: list[str]
) -> dict[str, float | None]:
    """Per class, the area under the ROC curve of the layer on the pairs (None: one label)."""
    p = sigmoid(pairs.stacked() @ w.T + b)
    out: dict[str, float | None] = {}
    for i, cls in enumerate(classes):
        known = ~np.isnan(pairs.labels[:, i])
        auc = roc_auc(p[known, i], pairs.labels[known, i].astype(int))
        out[cls] = None if auc is None else round(auc, 4)
    return out


# --- export -----------------------------------------------------------------------------------


def change_model(base: onnx.ModelProto, weight: np.ndarray, bias: np.ndarray) -> onnx.ModelProto:
    """``base`` taking six channels: both halves through the network as one batch, then the
    change layer on (current, current - reference, |current - reference|)."""
    model = onnx.ModelProto()
    model.CopyFrom(base)
    graph = model.graph
    where = find_classifier(model)
    old = graph.input[0]
    stacked = helper.make_tensor_value_info(
        old.name + "6", onnx.TensorProto.FLOAT, ["batch", 6, *_spatial(old)]
    )
    consts = {
        "chg_axis": [1],
        "chg_first": [0],
        "chg_second": [1],
        "chg_three": [3],
        "chg_six": [6],
        "chg_halves": [2, -1, int(weight.shape[1] // 3)],
    }
    graph.initializer.extend(
        numpy_helper.from_array(np.array(v, dtype=np.int64), k) for k, v in consts.items()
    )
    gemm = next(n for n in graph.node if n.op_type == "Gemm" and n.input[0] == where.features)
    gemm.input[0] = "chg_x"
    for init in graph.initializer:
        if init.name in (where.weight, where.bias):
            value = weight if init.name == where.weight else bias
            init.CopyFrom(numpy_helper.from_array(value.astype(np.float32), init.name))
    nodes = [*_split(stacked.name, old.name), *graph.node]
    at = next(i for i, n in enumerate(nodes) if n is gemm)
    del graph.node[:]
    graph.node.extend([*nodes[:at], *_changes(where.features), *nodes[at:]])
    del graph.input[:]
    graph.input.append(stacked)
    onnx.checker.check_model(model)
    return model


def _spatial(value: onnx.ValueInfoProto) -> list[int]:
    return [d.dim_value for d in value.type.tensor_type.shape.dim[2:]]


def _split(stacked: str, tiles: str) -> list[onnx.NodeProto]:
    """Six channels -> the current tiles, then their references, as one batch ``tiles``."""
    return [
        helper.make_node("Slice", [stacked, "chg_first", "chg_three", "chg_axis"], ["chg_cur"]),
        helper.make_node("Slice", [stacked, "chg_three", "chg_six", "chg_axis"], ["chg_ref"]),
        helper.make_node("Concat", ["chg_cur", "chg_ref"], [tiles], axis=0),
    ]


def _changes(features: str) -> list[onnx.NodeProto]:
    """The batch's features ``[2N, D]`` -> ``chg_x [N, 3D]``: current, change, its size."""
    return [
        helper.make_node("Reshape", [features, "chg_halves"], ["chg_pairs"]),
        helper.make_node("Gather", ["chg_pairs", "chg_first"], ["chg_f_cur3"], axis=0),
        helper.make_node("Gather", ["chg_pairs", "chg_second"], ["chg_f_ref3"], axis=0),
        helper.make_node("Squeeze", ["chg_f_cur3", "chg_first"], ["chg_f_cur"]),
        helper.make_node("Squeeze", ["chg_f_ref3", "chg_first"], ["chg_f_ref"]),
        helper.make_node("Sub", ["chg_f_cur", "chg_f_ref"], ["chg_delta"]),
        helper.make_node("Abs", ["chg_delta"], ["chg_size"]),
        helper.make_node("Concat", ["chg_f_cur", "chg_delta", "chg_size"], ["chg_x"], axis=1),
    ]


def write_model(
    cfg: Config, base_spec: ModelSpec, model: onnx.ModelProto, metrics: dict[str, object]
) -> None:
    cfg.out.mkdir(parents=True, exist_ok=True)
    onnx.save(model, cfg.out / "model.onnx")
    spec = base_spec.model_copy(
        update={
            "name": cfg.name,
            "sha256": None,
            "temporal": TemporalSpec(reference_s=cfg.reference_s),
            "metrics": metrics,
        }
    )
    write_spec(cfg.out, spec)


def main(argv: list[str] | None = None) -> None:
    cfg = parse_args(argv)
    started = time.monotonic()
    base_spec = load_spec(cfg.base)
    base = onnx.load(cfg.base / base_spec.file)
    scorer = FeatureScorer(base, base_spec.input, cfg.threads)
    size = base_spec.input.size[0]
    run_dir = HERE / "runs" / cfg.name
    run_dir.mkdir(parents=True, exist_ok=True)
    cache = run_dir / f"pairs-{cfg.seed}-{cfg.pairs}-{cfg.val_pairs}.npz"
    if cache.exists():
        z = np.load(cache)
        train = PairFeatures(z["tc"], z["tr"], z["ty"])
        val = PairFeatures(z["vc"], z["vr"], z["vy"])
    else:
        train = pair_features(load_pools(cfg.data, "train"), scorer, cfg.pairs, cfg.seed, size)
        val = pair_features(load_pools(cfg.data, "val"), scorer, cfg.val_pairs, cfg.seed + 1, size)
        np.savez(
            cache,
            tc=train.current,
            tr=train.reference,
            ty=train.labels,
            vc=val.current,
            vr=val.reference,
            vy=val.labels,
        )
    head = read_head(base)
    classes = list(base_spec.classes)
    w = fit(head.weight, head.bias, train, cfg, rows=(classes.index("smoke"),))
    metrics = {
        "training": {"pairs": cfg.pairs, "seed": cfg.seed, "lam": cfg.lam, "steps": cfg.steps},
        "validation_pairs_auc": {
            "base": auc_by_class(widen(head.weight), head.bias, val, classes),
            "change": auc_by_class(w, head.bias, val, classes),
        },
        "minutes": round((time.monotonic() - started) / 60, 1),
    }
    write_model(cfg, base_spec, change_model(base, w, head.bias), metrics)
    print(json.dumps(metrics, indent=1))


if __name__ == "__main__":
    main()
