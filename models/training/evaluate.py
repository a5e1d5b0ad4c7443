"""Score a shipped model directory the way production does, per frame / per image.

- Held-out FIgLib fires: max smoke tile score per frame; AUC of pre-ignition vs post-ignition
  frames, false-positive frames before ignition and the first post-ignition alarm, at the
  model.yaml threshold.
- Image-level checks: CAIR fire photos (all contain flame; how much smoke each shows and
  which are wildfire scenes is marked in ``labels/cair_smoke.csv``) and the validation
  negatives.
- Cost: all tiles of one 1920x1080 frame on one onnxruntime thread.

Run: ``python -m models.training.evaluate models/ember-tiles-v3 [--data DIR] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from detector.model import OnnxModel
from detector.modelspec import ModelSpec, load_spec, write_spec
from detector.preprocess import crops_for, to_tensor
from models.training.metrics import roc_auc
from models.training.sources import HELD_OUT_FIRES, figlib, negatives
from models.training.tiles import read_rgb
from streams.frame import Frame

#: How much smoke each CAIR photo shows (none / some / prominent), marked by eye.
CAIR_SMOKE_LABELS = Path(__file__).with_name("labels") / "cair_smoke.csv"
#: Their pre-ignition frames were training negatives; their post-ignition frames were never used.
TRAINING_FIRES = ("20180718_FIRE_syp-w-mobo-c", "20180728_FIRE_rm-w-mobo-c")


def default_data_dir() -> Path:
    import os

    env = os.environ.get("EMBERWATCH_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


class TileScorer:
    """ONNX session + spec: ``scores(image)`` -> per-tile class probabilities (T x C)."""

    def __init__(self, model_dir: Path, threads: int = 1) -> None:
        self.spec: ModelSpec = load_spec(model_dir)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(model_dir / self.spec.file), opts, providers=["CPUExecutionProvider"]
        )
        self.input_name = self.session.get_inputs()[0].name

    def scores(self, image: np.ndarray) -> np.ndarray:
        crops, _ = crops_for(image, self.spec)
        out = self.session.run(None, {self.input_name: to_tensor(crops, self.spec.input)})[0]
        if self.spec.output.activation.value == "sigmoid":
            out = 1.0 / (1.0 + np.exp(-out))
        return np.asarray(out)


def figlib_frames(
    scorer: TileScorer, data: Path, fires: tuple[str, ...] = HELD_OUT_FIRES
) -> dict[str, object]:
    """Per-frame smoke results for each FIgLib fire of ``fires``."""
    thr = scorer.spec.threshold("smoke")
    result: dict[str, object] = {}
    for fire in fires:
        frames = sorted(
            (f for f in figlib(data, every_frame=True) if f.group == f"figlib-{fire}"),
            key=lambda f: f.offset_s or 0,
        )
        offsets = np.array([f.offset_s for f in frames])
        smax = np.array([scorer.scores(read_rgb(f.path))[:, 0].max() for f in frames])
        post = offsets >= 0
        alarms = offsets[post & (smax >= thr)]
        result[fire] = {
            "frames": len(frames),
            "auc_pre_vs_post": roc_auc(smax, post.astype(int)),
            "auc_pre_vs_post_5min": roc_auc(
                smax[(offsets < 0) | (offsets >= 300)],
                (offsets[(offsets < 0) | (offsets >= 300)] >= 0).astype(int),
            ),
            "false_positive_frames_pre": int(np.sum(~post & (smax >= thr))),
            "pre_frames": int(np.sum(~post)),
            "detected_post_frames": len(alarms),
            "post_frames": int(np.sum(post)),
            "first_alarm_min_after_ignition": None
            if len(alarms) == 0
            else round(float(alarms.min()) / 60.0, 1),
            "max_score_pre": round(float(smax[~post].max()), 3) if (~post).any() else None,
            "per_frame": [[int(o), round(float(s), 3)] for o, s in zip(offsets, smax, strict=True)],
        }
    return result


def image_level(scorer: TileScorer, data: Path) -> dict[str, object]:
    """Share of CAIR fire photos (flame, and the smoke marked in ``labels/cair_smoke.csv``) and
    of validation negative images that raise a tile."""
    cair = sorted(
        p for p in (data / "flame" / "cair").iterdir() if p.suffix.lower() in (".jpg", ".png")
    )
    cair_max = np.array([scorer.scores(read_rgb(p)).max(axis=0) for p in cair])
    flame_max = cair_max[:, 1]
    negs = [n for n in negatives(data) if n.split == "val"]
    neg_max = np.array([scorer.scores(read_rgb(n.path)).max(axis=0) for n in negs])
    thr_s, thr_f = scorer.spec.threshold("smoke"), scorer.spec.threshold("flame")
    fire_hit = (flame_max >= thr_f) | (cair_max[:, 0] >= thr_s)
    return {
        "cair_flame_images": len(cair),
        "cair_flame_detected": _share(list(flame_max >= thr_f)),
        "cair_fire_detected_either_class": _share(list(fire_hit)),
        **cair_marks(cair, cair_max[:, 0] >= thr_s, fire_hit),
        "val_negative_images": len(negs),
        "val_negative_smoke_fp_rate": round(float(np.mean(neg_max[:, 0] >= thr_s)), 4),
        "val_negative_flame_fp_rate": round(float(np.mean(neg_max[:, 1] >= thr_f)), 4),
    }


def cair_marks(
    photos: list[Path], smoke_hit: np.ndarray, fire_hit: np.ndarray
) -> dict[str, object]:
    """Recall on the CAIR photos by what ``CAIR_SMOKE_LABELS`` marks by eye: smoke recall by how
    much smoke a photo shows (``prominent`` / ``some``: close and heavy smoke, unlike the distant
    plumes of the smoke training images), and fire found by either class in wildfire scenes."""
    with CAIR_SMOKE_LABELS.open() as fh:
        marks = {row["image"]: row for row in csv.DictReader(fh)}
    rows = [
        (marks.get(p.name), bool(s), bool(f))
        for p, s, f in zip(photos, smoke_hit, fire_hit, strict=True)
    ]
    out: dict[str, object] = {}
    for level in ("prominent", "some"):
        hits = [s for m, s, _ in rows if m and m["smoke"] == level]
        out[f"cair_smoke_{level}_images"] = len(hits)
        out[f"cair_smoke_{level}_detected"] = _share(hits)
    wild = [f for m, _, f in rows if m and m["wild"] == "1"]
    out["cair_wildfire_images"] = len(wild)
    out["cair_wildfire_detected_either_class"] = _share(wild)
    return out


def _share(hits: list[bool]) -> float | None:
    return round(float(np.mean(hits)), 3) if hits else None


def frame_cost_ms(model_dir: Path, repeats: int = 20) -> dict[str, float]:
    """Median ms to score one 1920x1080 frame on one thread, as the service does.

    The detector's own :meth:`OnnxModel.score`: cut, normalise, run and read every tile, plus the
    model's focus crops (frames of one camera ``reference_s`` apart that differ, so every crop
    is cut).
    """
    model = OnnxModel(model_dir, intra_op_threads=1)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, size=(1080, 1920, 3), dtype=np.uint8) for _ in range(2)]
    step = model.spec.focus.reference_s
    times = []
    for i in range(repeats + 2):  # the first has no reference view yet; both warm up
        frame = Frame("cost", i * step, i, frames[i % 2])
        start = time.perf_counter()
        model.score([frame])
        if i >= 2:
            times.append((time.perf_counter() - start) * 1000.0)
    return {
        "tiles_per_1080p_frame": model.inputs_per_frame(1920, 1080),
        "median_ms": round(float(np.median(times)), 1),
        "min_ms": round(float(np.min(times)), 1),
        "p90_ms": round(float(np.percentile(times, 90)), 1),
    }


def main_report(model_dir: Path, data: Path) -> dict[str, object]:
    """Everything this module measures, as one JSON-able dict."""
    scorer = TileScorer(model_dir, threads=2)
    return {
        "figlib_held_out": figlib_frames(scorer, data),
        "figlib_training_fires": figlib_frames(scorer, data, TRAINING_FIRES),
        "image_level": image_level(scorer, data),
        "cost_1080p_one_thread": frame_cost_ms(model_dir),
    }


def summary(report: dict[str, object]) -> dict[str, object]:
    """The report without per-frame lists (for model.yaml)."""
    fires = {
        fire: {k: v for k, v in r.items() if k != "per_frame"}
        for fire, r in report["figlib_held_out"].items()
    }  # type: ignore[attr-defined]
    training = {
        fire: {k: v for k, v in r.items() if k != "per_frame"}
        for fire, r in report.get("figlib_training_fires", {}).items()  # type: ignore[attr-defined]
    }
    return {
        "figlib_held_out_frames": fires,
        "figlib_training_fires_frames": training,
        "image_level": report["image_level"],
        "cost_1080p_one_thread": report["cost_1080p_one_thread"],
    }


def write_summary(model_dir: Path, report: dict[str, object]) -> None:
    """Put the report's :func:`summary` into the model's ``model.yaml`` metrics."""
    spec = load_spec(model_dir)
    metrics = {**spec.metrics, **summary(report)}
    write_spec(model_dir, spec.model_copy(update={"metrics": metrics}))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--write", action="store_true", help="also update the metrics in the model's model.yaml"
    )
    args = parser.parse_args(argv)
    report = main_report(args.model_dir, args.data)
    if args.write:
        write_summary(args.model_dir, report)
    text = json.dumps(report, indent=1)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
