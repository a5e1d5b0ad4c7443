"""Train a temporal tile model on composited sequences, export it, write its model directory.

    make train-temporal                   # = python -m models.training.train_temporal
    make train-temporal TEMPORAL_ARGS="--max-minutes 10 --name try --out build/try"

Pairs (tile, same tile ``reference_s`` earlier) come from :mod:`models.training.composite`,
drawn afresh every step with a fixed seed; the network is :class:`seqnet.ChangeNet`. Training
runs for ``--max-minutes`` (the learning rate anneals on time, so a busy machine trains fewer
steps, not longer). Then: float ONNX export, int8 quantisation calibrated on training pairs,
thresholds (F0.5 on a fixed set of validation pairs; smoke then from a sweep of the development
clips, as the single-frame recipe does), ``model.yaml`` with its ``temporal`` section, and the
metrics in ``models/training/runs/<name>/metrics.json``. Judge the result with
``python -m models.training.judge``.

Validation pairs come from the validation side only: the held-out FIgLib fires' views, the
validation views of the boxed smoke sets, validation flame photos and negatives.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from detector.modelspec import (
    FocusSpec,
    InputSpec,
    ModelSpec,
    OutputKind,
    OutputSpec,
    TemporalSpec,
    TilingSpec,
    write_spec,
)
from detector.preprocess import to_tensor
from models.training import composite, evaluate, from_onnx, net, operating_point, seqnet
from models.training.metrics import pick_threshold, roc_auc
from models.training.pools import load_pools
from models.training.train import LICENCE

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


@dataclass(frozen=True)
class Config:
    data: Path
    out: Path
    name: str
    size: int
    batch: int
    lr: float
    seed: int
    threads: int
    max_minutes: float
    frozen_blocks: int
    reference_s: float
    val_pairs: int
    dev_threshold: bool
    init_from: Path | None
    backbone_lr: float


def parse_args(argv: list[str] | None = None) -> Config:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=evaluate.default_data_dir())
    p.add_argument("--out", type=Path, default=REPO / "models" / "ember-seq-v1")
    p.add_argument("--name", default="ember-seq-v1")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=20261206)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-minutes", type=float, default=60.0, help="training time budget")
    p.add_argument("--frozen-blocks", type=int, default=8)
    p.add_argument("--reference-s", type=float, default=300.0)
    p.add_argument("--val-pairs", type=int, default=768)
    p.add_argument("--dev-threshold", action=argparse.BooleanOptionalAction, default=True)
    from_onnx.add_from_option(p, "the single-frame part")
    p.add_argument(
        "--backbone-lr",
        type=float,
        default=1.0,
        help="learning rate of the single-frame part, as a share of --lr (the change branch "
        "always learns at --lr)",
    )
    a = p.parse_args(argv)
    return Config(**{k.replace("-", "_"): v for k, v in vars(a).items()})


def input_spec(size: int) -> InputSpec:
    return InputSpec(size=(size, size), layout="NCHW", mean=net.MEAN, std=net.STD)


def tensor(pairs: list[tuple[np.ndarray, np.ndarray]], spec: InputSpec) -> np.ndarray:
    """Six-channel network input of (current, reference) pairs, as the detector stacks them."""
    cur = to_tensor([c for c, _ in pairs], spec)
    ref = to_tensor([r for _, r in pairs], spec)
    return np.concatenate([cur, ref], axis=1)


def batches(
    pools: composite.Pools, rng: np.random.Generator, cfg: Config, count: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    spec = input_spec(cfg.size)
    for _ in range(count):
        items = [composite.make_pair(pools, rng, cfg.size) for _ in range(cfg.batch)]
        x = tensor([(c, r) for c, r, _ in items], spec)
        yield x, np.stack([y for _, _, y in items])


def masked_bce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy over the known labels (NaN: unknown)."""
    known = ~torch.isnan(labels)
    loss = nn.functional.binary_cross_entropy_with_logits(
        logits[known], labels[known], reduction="mean"
    )
    return loss


def train(model: seqnet.ChangeNet, pools: composite.Pools, cfg: Config) -> dict[str, object]:
    """Train until the time budget is spent; the learning rate follows a cosine on time."""
    opt = torch.optim.AdamW(param_groups(model, cfg), weight_decay=1e-4)
    rng = np.random.default_rng(cfg.seed)
    budget = cfg.max_minutes * 60.0
    start, steps, losses = time.monotonic(), 0, []
    model.train_mode()
    if cfg.init_from is not None:
        from_onnx.freeze_norms(model.base)
    for x, y in batches(pools, rng, cfg, 10**9):
        elapsed = time.monotonic() - start
        if elapsed >= budget:
            break
        for group in opt.param_groups:
            group["lr"] = group["base_lr"] * 0.5 * (1 + math.cos(math.pi * elapsed / budget))
        loss = masked_bce(model(torch.from_numpy(x)), torch.from_numpy(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        steps += 1
        if steps % 25 == 0:
            print(
                f"step {steps} {elapsed / 60:.1f} min loss {np.mean(losses[-25:]):.4f}", flush=True
            )
    return {
        "steps": steps,
        "pairs": steps * cfg.batch,
        "minutes": round((time.monotonic() - start) / 60, 1),
    }


def param_groups(model: seqnet.ChangeNet, cfg: Config) -> list[dict[str, object]]:
    """The change branch at ``lr``, the single-frame part at ``lr x backbone_lr``."""
    branch = [p for p in model.change.parameters() if p.requires_grad]
    base = [p for p in model.base.parameters() if p.requires_grad]
    rates = (cfg.lr, cfg.lr * cfg.backbone_lr)
    return [
        {"params": ps, "lr": r, "base_lr": r} for ps, r in zip((branch, base), rates, strict=True)
    ]


def score_onnx(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    out = [session.run(None, {name: x[i : i + 64]})[0] for i in range(0, len(x), 64)]
    return 1.0 / (1.0 + np.exp(-np.concatenate(out)))


def quantize(fp32: Path, out: Path, pools: composite.Pools, cfg: Config) -> None:
    """Static int8 (as :mod:`quantize`), calibrated on 512 training pairs."""
    from models.training.quantize import KEEP_FLOAT, quantize_inputs

    data = batches(pools, np.random.default_rng(cfg.seed + 1), cfg, 16)
    feeds = ({"tiles": x} for x, _ in data)
    quantize_inputs(fp32, out, feeds, [*KEEP_FLOAT, "/change/3/Conv"])


def validate(path: Path, x: np.ndarray, y: np.ndarray) -> dict[str, object]:
    p = score_onnx(path, x)
    out: dict[str, object] = {}
    for i, cls in enumerate(net.CLASSES):
        known = ~np.isnan(y[:, i])
        out[cls] = {
            "auc": roc_auc(p[known, i], y[known, i].astype(int)),
            "threshold_f05": round(pick_threshold(p[known, i], y[known, i].astype(int)), 3),
            "positives": int(y[known, i].sum()),
            "pairs": int(known.sum()),
        }
    return out


def write_model(
    cfg: Config, run_dir: Path, thresholds: dict[str, float], metrics: dict[str, object]
) -> None:
    cfg.out.mkdir(parents=True, exist_ok=True)
    shutil.copy(run_dir / "model-int8.onnx", cfg.out / "model.onnx")
    spec = ModelSpec(
        name=cfg.name,
        kind=OutputKind.TILED_CLASSIFIER,
        classes=net.CLASSES,
        input=input_spec(cfg.size),
        output=OutputSpec(activation="sigmoid"),
        tiling=TilingSpec(rows=2, min_overlap=0.1, row_overlap=0.5),
        focus=FocusSpec(crops=3, size=0.22, reference_s=120.0),
        temporal=TemporalSpec(reference_s=cfg.reference_s),
        thresholds=thresholds,
        licence=LICENCE,
        metrics=metrics,
    )
    write_spec(cfg.out, spec)


def main(argv: list[str] | None = None) -> None:
    cfg = parse_args(argv)
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    run_dir = HERE / "runs" / cfg.name
    run_dir.mkdir(parents=True, exist_ok=True)
    train_pools = load_pools(cfg.data, "train")
    val_pools = load_pools(cfg.data, "val")
    print({k: len(getattr(train_pools, k)) for k in ("views", "stills", "plumes", "flames")})
    model = seqnet.ChangeNet(cfg.size, cfg.frozen_blocks)
    if cfg.init_from is not None:
        frozen = net.frozen_modules(model.base, model.frozen_blocks)
        loaded = from_onnx.load_export(model.base, cfg.init_from, frozen)
        print(f"{loaded} layers from {cfg.init_from}")
    trained = train(model, train_pools, cfg)
    seqnet.export_onnx(model, cfg.size, run_dir / "model-fp32.onnx")
    quantize(run_dir / "model-fp32.onnx", run_dir / "model-int8.onnx", train_pools, cfg)
    val = list(
        batches(val_pools, np.random.default_rng(cfg.seed + 2), cfg, cfg.val_pairs // cfg.batch)
    )
    vx, vy = np.concatenate([x for x, _ in val]), np.concatenate([y for _, y in val])
    metrics: dict[str, object] = {
        "training": trained,
        "validation_pairs": validate(run_dir / "model-int8.onnx", vx, vy),
    }
    vm = metrics["validation_pairs"]
    thresholds = {c: float(vm[c]["threshold_f05"]) for c in net.CLASSES}  # type: ignore[index]
    write_model(cfg, run_dir, thresholds, metrics)
    if cfg.dev_threshold:
        choice = operating_point.choose(
            cfg.out, cfg.data / "clips" / "dev" / "clips.csv", run_dir / "dev-sweep"
        )
        print("dev-clip smoke threshold", choice)
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    print(json.dumps(metrics, indent=1))


if __name__ == "__main__":
    main()
