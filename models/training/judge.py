"""The protocol a candidate model is judged by, for one model directory.

    .venv/bin/python -m models.training.judge models/ember-tiles-v3 [--perturb] [--out DIR]

1. **Clips, leave one fire out**: every clip of ``clips/dev`` and ``clips/extra`` is played
   through the production decoder, detector and smoothing (service defaults), and judged at the
   smoke threshold chosen on all the *other* clips (:mod:`benchmarks.lofo`): per clip, found or
   not, time to detection and false events, and false events per camera-hour on the negatives
   and before ignition. The same clips at the model's own threshold are reported beside it (the
   split the model cards used before). ``--perturb`` also plays the re-encoded (crf 28) and
   re-gained (+-10 %) copies and reports the flip rate (:mod:`benchmarks.perturb`).
2. **Another camera network** (:mod:`models.training.stills`): AlertTahoe frames per class and
   day/night, and the ALERTWildfire night near-IR negatives, one frame at a time.
3. **Cost**: median ms to score one 1080p frame on one onnxruntime thread, as the service does
   (:func:`models.training.evaluate.frame_cost_ms`).

Writes ``judge.json`` and ``judge.md`` to ``--out`` (default ``models/training/runs/<name>/``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.clips import ClipRun, PlaySettings, plan_clip, play_clip, read_clips_csv
from benchmarks.lofo import leave_one_out
from benchmarks.perturb import perturb_lines, perturb_model
from benchmarks.report import clip_result, minutes, table
from benchmarks.sweep import parse_sweep
from detector.config import SmoothingConfig
from detector.model import OnnxModel
from models.training import stills
from models.training.evaluate import default_data_dir, frame_cost_ms
from streams.config import CameraConfig

Json = dict[str, Any]

CLIP_SETS = ("clips/dev/clips.csv", "clips/extra/clips.csv")
#: Thresholds each fold chooses from (as ``bench clips --lofo``).
LOFO_SWEEP = "smoke=0.3:0.95:0.05"
#: Loop ordinary video to this many real seconds (as ``bench clips``).
MIN_CLIP_SECONDS = 120.0
RUNS = Path(__file__).resolve().parent / "runs"


def play_all(model: OnnxModel, data: Path, settings: PlaySettings) -> list[ClipRun]:
    """Every clip of :data:`CLIP_SETS`, in table order."""
    runs: list[ClipRun] = []
    for name in CLIP_SETS:
        table_ = read_clips_csv(data / name)
        if table_.problems:
            raise ValueError(f"{name}: bad rows {[p.message for p in table_.problems]}")
        for row in table_.rows:
            runs.append(play_clip(model, plan_clip(row, settings.min_clip_seconds), settings))
    return runs


def clips_report(model: OnnxModel, data: Path, perturb_dir: Path | None) -> Json:
    settings = PlaySettings(
        float(CameraConfig.model_fields["interval_s"].default),
        MIN_CLIP_SECONDS,
        SmoothingConfig(),
    )
    runs = play_all(model, data, settings)
    thresholds = model.thresholds()
    out: Json = {
        "lofo": leave_one_out(
            runs, model.classes, thresholds, settings.smoothing, parse_sweep(LOFO_SWEEP)
        ),
        "own_threshold": [{k: v for k, v in clip_result(r).items() if k != "events"} for r in runs],
    }
    if perturb_dir is not None:
        out["perturb"] = perturb_model(model, runs, settings, perturb_dir)
    return out


def judge(model_dir: Path, data: Path, perturb_dir: Path | None, clips: bool = True) -> Json:
    """Everything this module measures for one model directory."""
    model = OnnxModel(model_dir, intra_op_threads=1)
    return {
        "model": model.spec.name,
        "thresholds": model.thresholds(),
        "clips": clips_report(model, data, perturb_dir) if clips else None,
        "stills": stills.report(model, data),
        "cost_1080p_one_thread": frame_cost_ms(model_dir),
    }


def _lofo_lines(lofo: Json) -> list[str]:
    rows = (
        [
            c["file"],
            c["label"],
            f"{c['threshold']:.2f}",
            "-" if c["detected"] is None else ("yes" if c["detected"] else "no"),
            minutes(c["ttd_s"]),
            str(c["false_events"]),
        ]
        for c in lofo["clips"]
    )
    return [
        f"Leave one fire out: {lofo['detected_clips']}/{lofo['positive_clips']} found, median "
        f"{minutes(lofo['ttd_median_s'])}, {lofo['false_events']} false events "
        f"({lofo['false_events_per_camera_hour']} per camera-hour).",
        "",
        *table(["clip", "label", "threshold", "found", "TTD", "false events"], rows),
    ]


def _own_lines(clips: Sequence[Json]) -> list[str]:
    rows = (
        [
            c["file"],
            "-" if c["detected"] is None else ("yes" if c["detected"] else "no"),
            minutes(c["ttd_s"]),
            str(c["false_events"]),
            f"{c['peak_score']:.2f}",
        ]
        for c in clips
    )
    return [
        "",
        "The same clips at the model's own threshold:",
        "",
        *table(["clip", "found", "TTD", "false events", "peak score"], rows),
    ]


def _still_lines(name: str, rows: Sequence[Json], classes: Sequence[str]) -> list[str]:
    body = (
        [r["label"], r["light"], str(r["frames"]), *(str(r[c]) for c in classes), str(r["either"])]
        for r in rows
    )
    return [
        "",
        f"{name}: frames reaching each class's threshold (max tile score per frame)",
        "",
        *table(["label", "light", "frames", *classes, "either"], body),
    ]


def markdown(result: Json) -> str:
    lines = [f"# {result['model']}", "", f"Thresholds: {result['thresholds']}", ""]
    clips = result["clips"]
    if clips:
        lines += _lofo_lines(clips["lofo"]) + _own_lines(clips["own_threshold"])
        lines += perturb_lines({"model": result["model"], "perturb": clips.get("perturb")})
    classes = list(result["thresholds"])
    for name in ("alerttahoe", "alerttahoe_in_sequence", "alertwildfire_night"):
        lines += _still_lines(name, result["stills"][name]["rows"], classes)
    cost = result["cost_1080p_one_thread"]
    lines += ["", f"Cost: {cost['median_ms']} ms per 1080p frame on one thread (median)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--perturb", action="store_true", help="also play perturbed copies")
    parser.add_argument(
        "--copies",
        type=Path,
        default=RUNS / "perturbed",
        help="where perturbed copies are kept, shared by the models judged",
    )
    parser.add_argument("--no-clips", action="store_true", help="skip the clips (quick)")
    args = parser.parse_args(argv)
    out = args.out or RUNS / args.model_dir.resolve().name
    out.mkdir(parents=True, exist_ok=True)
    result = judge(
        args.model_dir, args.data, args.copies if args.perturb else None, not args.no_clips
    )
    (out / "judge.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    (out / "judge.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
