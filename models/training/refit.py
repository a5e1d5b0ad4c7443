"""Refit the classifier of a shipped tiled network with frames of other cameras.

    .venv/bin/python -m models.training.refit models/ember-tiles-v3 --name ember-tiles-v4

The network's features stay as they are; only its last layer (the ``Gemm`` that gives the
logits) learns again, and only the rows of the classes named by ``--classes``. It learns from
two things at once:

- the recipe's own training tiles (:mod:`models.training.tiles`, masked binary cross-entropy),
  so the classes keep what they knew;
- labelled frames of another camera network (:mod:`models.training.stills`: AlertTahoe frames
  labelled by eye, ALERTWildfire night negatives). A frame is labelled, not its tiles, so each
  frame is a *bag* of tiles and its score is its strongest tile, as the detector decides: a
  fire frame pulls its strongest tile up, a negative frame pushes its strongest tile down.

A penalty ``lam * |W - W0|^2`` keeps the layer near the shipped one. Fitting is full-batch Adam
on the cached features: seconds per fit on a CPU.

Judged **leave one camera out**: for each camera of the stills, a layer fitted without any of
its frames scores them, at thresholds fixed before the fit (the model's, and
:data:`NIGHT_FLAME` for flame while a camera sees night). Those are the numbers to report; the
layer that is shipped is then fitted on every camera.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from detector.modelspec import ModelSpec, load_spec, write_spec
from detector.preprocess import crops_for
from models.training import stills
from models.training.evaluate import default_data_dir
from models.training.head import (
    Bags,
    FeatureScorer,
    Head,
    RefitConfig,
    Tiles,
    fit,
    frame_scores,
    leave_one_camera_out,
    read_head,
    sigmoid,
    with_head,
)
from models.training.metrics import class_threshold, tile_metrics
from models.training.tiles import TileSet, read_rgb

Json = dict[str, Any]

HERE = Path(__file__).resolve().parent
CACHE = HERE / "cache"
RUNS = HERE / "runs"

#: The flame threshold while a camera sees night: a logistic layer's own decision boundary,
#: fixed before any fit (never chosen on the frames it is judged on).
NIGHT_FLAME = 0.5
#: What the refit adds to the data licence of the model it starts from.
STILLS_LICENCE = (
    "last layer also fitted on AlertTahoe and ALERTWildfire frames (Nevada Seismological "
    "Laboratory, University of Nevada, Reno; research use only, credit ALERTWildfire / AlertTahoe)"
)


# --- data -------------------------------------------------------------------------------------


def tile_features(scorer: FeatureScorer, tiles: TileSet) -> tuple[Tiles, Tiles]:
    """The recipe's tiles as features: (training split, every other split)."""
    features = scorer.features(tiles.crops)
    train = tiles.split == "train"
    return (
        Tiles(features[train], tiles.labels[train]),
        Tiles(features[~train], tiles.labels[~train]),
    )


def bag_targets(labels: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """``[F, C]``: a negative frame says 0 for every class, a frame labelled with a class says 1
    for it; anything else (``unsure``, the other classes of a fire frame) has no say."""
    targets = np.full((len(labels), len(classes)), np.nan)
    for i, label in enumerate(labels):
        if label == "negative":
            targets[i] = 0.0
        elif label in classes:
            targets[i, list(classes).index(label)] = 1.0
    return targets


def still_bags(scorer: FeatureScorer, spec: ModelSpec, frames: Sequence[stills.Still]) -> Bags:
    """Every fixed tile of each frame (as the detector cuts them) as one bag per frame."""
    features, owner = [], []
    for i, still in enumerate(frames):
        crops, _ = crops_for(read_rgb(still.path), spec)
        features.append(scorer.features(crops))
        owner += [i] * len(crops)
    return Bags(
        np.concatenate(features),
        np.asarray(owner),
        bag_targets([s.label for s in frames], spec.classes),
        np.asarray([s.camera for s in frames]),
    )


# --- reports ---------------------------------------------------------------------------------


def validation(head: Head, val: Tiles, spec: ModelSpec, thresholds: Json) -> Json:
    """Per class on the recipe's validation tiles (as ``metrics.val_tiles`` of a trained model)."""
    return tile_metrics(sigmoid(head.logits(val.features)), val.labels, spec.classes, thresholds)


def still_report(
    frames: Sequence[stills.Still], scores: np.ndarray, spec: ModelSpec, is_night: np.ndarray
) -> list[Json]:
    """Per label and light, as :mod:`models.training.stills` counts them, with the model's
    night thresholds in force on the frames a camera would judge night."""
    night = {**spec.thresholds, **spec.night_thresholds}
    return stills.still_rows(frames, scores, spec.classes, spec.thresholds, (is_night, night))


# --- the refitted model -----------------------------------------------------------------------


def write_model(
    model: onnx.ModelProto, head: Head, spec: ModelSpec, out: Path, metrics: Json
) -> ModelSpec:
    """``out/model.onnx`` with ``head`` as its last layer and ``out/model.yaml`` from ``spec``
    (``metrics`` added under ``refit``)."""
    out.mkdir(parents=True, exist_ok=True)
    onnx.save(with_head(model, head), str(out / spec.file))
    written = spec.model_copy(update={"metrics": {**spec.metrics, "refit": metrics}})
    write_spec(out, written)
    return load_spec(out)


def _cached_tiles(
    scorer: FeatureScorer, spec: ModelSpec, data: Path, seed: int
) -> tuple[Tiles, Tiles]:
    from models.training.sources import all_images
    from models.training.tiles import build_tiles

    path = CACHE / f"refit-{spec.sha256 or spec.name}-{seed}.npz"
    if not path.is_file():
        train, val = tile_features(scorer, build_tiles(all_images(data), spec, seed))
        CACHE.mkdir(parents=True, exist_ok=True)
        np.savez(path, tf=train.features, tl=train.labels, vf=val.features, vl=val.labels)
    z = np.load(path)
    return Tiles(z["tf"], z["tl"]), Tiles(z["vf"], z["vl"])


def judged_stills(data: Path) -> list[stills.Still]:
    """The AlertTahoe frames (by name) and the ALERTWildfire night negatives."""
    tahoe = sorted(stills.alerttahoe(data), key=lambda s: s.path.name)
    return tahoe + stills.night_negatives(data)


def day_thresholds(head: Head, val: Tiles, spec: ModelSpec, cfg: RefitConfig) -> dict[str, float]:
    """The model's thresholds, those of the rows that learnt chosen again as the recipe chooses
    them: F0.5 on the validation tiles (never on the frames the refit is judged on)."""
    scores = sigmoid(head.logits(val.features))
    chosen = dict(spec.thresholds)
    for c in cfg.classes:
        chosen[spec.classes[c]] = class_threshold(scores, val.labels, c)
    return chosen


def comparison(
    frames: Sequence[stills.Still],
    before: tuple[ModelSpec, np.ndarray],
    after: tuple[ModelSpec, np.ndarray],
    looks_night: np.ndarray,
) -> dict[str, list[Json]]:
    """Still rows of the base model, of the base model with the new night thresholds, and of the
    refit judged leave one camera out, with night by the clock (a camera that knows its position:
    the frames' captions) and by the image."""
    (old, old_scores), (new, new_scores) = before, after
    clock = np.array([s.light == "night" for s in frames])
    return {
        old.name: still_report(frames, old_scores, old, clock),
        f"{old.name}, night thresholds of {new.name}, night by the clock": still_report(
            frames,
            old_scores,
            old.model_copy(update={"night_thresholds": new.night_thresholds}),
            clock,
        ),
        f"{new.name}, leave one camera out, night by the clock": still_report(
            frames, new_scores, new, clock
        ),
        f"{new.name}, leave one camera out, night by the image": still_report(
            frames, new_scores, new, looks_night
        ),
    }


def refit(model_dir: Path, data: Path, out: Path, name: str, cfg: RefitConfig, seed: int) -> Json:
    """Fit on every camera and write ``out``; judge the same recipe leave one camera out."""
    spec = load_spec(model_dir)
    model = onnx.load(str(model_dir / spec.file))
    scorer = FeatureScorer(model, spec.input)
    train, val = _cached_tiles(scorer, spec, data, seed)
    frames = judged_stills(data)
    looks_night = stills.looks_night(frames)
    bags = still_bags(scorer, spec, frames)
    base = read_head(model)
    head = fit(base, train, bags, cfg)
    new_spec = spec.model_copy(
        update={
            "name": name,
            "thresholds": day_thresholds(head, val, spec, cfg),
            "night_thresholds": {**spec.night_thresholds, "flame": NIGHT_FLAME},
        }
    )
    judged = leave_one_camera_out(base, train, bags, cfg)
    after = validation(head, val, spec, new_spec.thresholds)
    metrics: Json = {
        "from": spec.name,
        "from_sha256": spec.sha256,
        "config": {**asdict(cfg), "classes": [spec.classes[c] for c in cfg.classes]},
        "seed": seed,
        "stills": {"frames": len(frames), "cameras": len(set(bags.camera.tolist()))},
        "validation_tiles_before": validation(base, val, spec, spec.thresholds),
        "validation_tiles_after": after,
        "stills_leave_one_camera_out": comparison(
            frames, (spec, frame_scores(base, bags)), (new_spec, judged), looks_night
        ),
    }
    licence = {**spec.licence, "data": f"{spec.licence.get('data', '')}; {STILLS_LICENCE}"}
    shipped = new_spec.model_copy(
        update={"metrics": {**spec.metrics, "val_tiles": after}, "licence": licence}
    )
    write_model(model, head, shipped, out, metrics)
    return metrics


def plot_comparison(path: Path, rows: dict[str, list[Json]]) -> None:
    """Bars per judged row set: night fire frames found, day smoke frames found, negatives
    raised (either class)."""
    from matplotlib.figure import Figure

    panels = [("night fire frames found", "flame"), ("day smoke frames found", "smoke")]
    panels.append(("negative frames raised", "negative"))
    colours = [f"C{i}" for i in range(len(rows))]
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    for ax, (title, label) in zip(fig.subplots(1, len(panels)), panels, strict=True):
        counts = [_either(r, label) for r in rows.values()]
        bars = ax.bar(range(len(rows)), [c for c, _ in counts], color=colours)
        ax.bar_label(bars, [f"{c}/{n}" for c, n in counts], fontsize=8)
        ax.set_ylim(0, max(n for _, n in counts) * 1.1)
        ax.set_xticks([])
        ax.set_title(title, fontsize=9)
    fig.legend(bars, list(rows), loc="outside lower center", ncols=2, fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": None})


def _either(rows: list[Json], label: str) -> tuple[int, int]:
    """(frames raised by either class, frames) of a label, all lights together."""
    mine = [r for r in rows if r["label"] == label]
    row = next((r for r in mine if r["light"] == "all"), mine[0])
    return int(row["either"]), int(row["frames"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--name", required=True)
    parser.add_argument("--out", type=Path, default=None, help="default: runs/<name>/")
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--classes", default="flame", help="comma-separated rows that learn")
    defaults = {f.name: f.default for f in fields(RefitConfig)}
    parser.add_argument("--alpha", type=float, default=defaults["alpha"])
    parser.add_argument("--lam", type=float, default=defaults["lam"])
    parser.add_argument("--steps", type=int, default=defaults["steps"])
    parser.add_argument("--seed", type=int, default=20261130)
    args = parser.parse_args(argv)
    classes = load_spec(args.model_dir, verify=False).classes
    wanted = [c.strip() for c in args.classes.split(",") if c.strip()]
    unknown = sorted(set(wanted) - set(classes))
    if unknown:
        parser.error(f"--classes {unknown} are not classes of the model {list(classes)}")
    cfg = RefitConfig(tuple(classes.index(c) for c in wanted), args.alpha, args.lam, args.steps)
    out = args.out or RUNS / args.name
    metrics = refit(args.model_dir, args.data, out, args.name, cfg, args.seed)
    plot_comparison(
        out / "img" / "stills-leave-one-camera-out.png", metrics["stills_leave_one_camera_out"]
    )
    (RUNS / args.name).mkdir(parents=True, exist_ok=True)
    (RUNS / args.name / "refit.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    print(json.dumps(metrics["stills_leave_one_camera_out"], indent=1))


if __name__ == "__main__":
    main()
