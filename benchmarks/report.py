"""Clip benchmark outputs: results.json, metrics.json, frames.jsonl, summary.md and PNG plots.

Everything but throughput is a function of the clips, the model and the settings: floats are
rounded (scores 6 decimals, seconds 3), keys sorted, no dates. ``metrics.json`` is
``results.json`` without the throughput keys (``models[].aggregate.frames_per_s`` and
``models[].throughput``), so two runs can be compared byte for byte with ``cmp``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from benchmarks.clips import ClipRun, StageSeconds
from benchmarks.metrics import FrameCounts, aggregate, frame_counts

SCHEMA_VERSION = 1
THROUGHPUT_KEYS = ("frames_per_s",)  # keys of "aggregate" that are wall-clock measurements

Json = dict[str, Any]


def r6(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)


def r3(x: float | None) -> float | None:
    return None if x is None else round(float(x), 3)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What identifies a model in the results."""

    name: str
    model_dir: str
    sha256: str
    classes: tuple[str, ...]
    thresholds: Mapping[str, float]


def events_of(run: ClipRun) -> list[Json]:
    """Event spans of a clip: class, opened/closed real seconds (closed None: still open)."""
    spans: list[Json] = []
    running: dict[str, Json] = {}
    for f in run.frames:
        for t in f.transitions:
            if t.transition == "opened":
                running[t.cls] = {"cls": t.cls, "opened_s": r3(f.t_s), "closed_s": None}
                spans.append(running[t.cls])
            elif t.transition == "closed" and t.cls in running:
                running.pop(t.cls)["closed_s"] = r3(f.t_s)
    return spans


def clip_result(run: ClipRun) -> Json:
    """The results.json entry of one clip."""
    plan = run.plan
    out = run.outcome()
    peak_smoothed = max(
        (
            s
            for f in run.frames
            for c, s in f.smoothed.items()
            if not plan.row.label.positive or c in plan.row.label.matching
        ),
        default=0.0,
    )
    return {
        "file": plan.row.file,
        "label": plan.row.label.value,
        "detected": out.detected,
        "ttd_s": r3(out.ttd_s),
        "false_events": out.false_events,
        "peak_score": r6(out.peak_score),
        "peak_smoothed": r6(peak_smoothed),
        "ignition_real_s": r3(plan.ignition_real_s),
        "seconds_per_frame_real": plan.spf,
        "fps": r6(plan.fps),
        "timelapse": plan.timelapse,
        "looped": plan.looped,
        "pass_frames": plan.pass_frames,
        "real_s": r3(plan.real_s),
        "negative_s": r3(out.negative_s),
        "frames": len(run.frames),
        "events": events_of(run),
    }


def _throughput(runs: Sequence[ClipRun], threads: int) -> Json:
    times = sum((r.times for r in runs), StageSeconds())
    n = sum(len(r.frames) for r in runs)
    return {
        "frames": n,
        "seconds": r3(times.total),
        "frames_per_s": r3(n / times.total) if times.total > 0 else None,
        "ms_per_frame": {k: r3(1000 * v / n) if n else None for k, v in times.as_dict().items()},
        "threads": threads,
    }


def model_result(info: ModelInfo, runs: Sequence[ClipRun], threads: int) -> Json:
    """The results.json entry of one model over its clip runs."""
    outcomes = [r.outcome() for r in runs]
    counts = sum(
        (frame_counts(r.plan.truth, r.frame_scores(), info.thresholds) for r in runs),
        FrameCounts(),
    )
    agg = aggregate(outcomes, counts)
    throughput = _throughput(runs, threads)
    return {
        "model": info.name,
        "model_dir": info.model_dir,
        "sha256": info.sha256,
        "classes": list(info.classes),
        "thresholds": {k: r6(v) for k, v in info.thresholds.items()},
        "aggregate": {
            "recall": r6(agg.recall),
            "ttd_median_s": r3(agg.ttd_median_s),
            "ttd_mean_s": r3(agg.ttd_mean_s),
            "false_events": agg.false_events,
            "false_events_per_camera_hour": r6(agg.false_events_per_camera_hour),
            "negative_hours": r6(agg.negative_hours),
            "frame_precision": r6(agg.frame_precision),
            "frame_recall": r6(agg.frame_recall),
            "frame_f1": r6(agg.frame_f1),
            "frame_counts": {"tp": counts.tp, "fp": counts.fp, "fn": counts.fn, "tn": counts.tn},
            "positive_clips": agg.positive_clips,
            "detected_clips": agg.detected_clips,
            "clips": len(runs),
            "frames": throughput["frames"],
            "frames_per_s": throughput["frames_per_s"],
        },
        "throughput": throughput,
        "clips": [clip_result(r) for r in runs],
    }


def metrics_only(results: Json) -> Json:
    """``results`` without wall-clock measurements: what must be identical between runs."""
    out: Json = json.loads(json.dumps(results))
    for model in out.get("models", []):
        model.pop("throughput", None)
        for key in THROUGHPUT_KEYS:
            model.get("aggregate", {}).pop(key, None)
    return out


def dumps(data: Json) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_results(out_dir: Path, results: Json) -> None:
    """Write ``results.json`` and ``metrics.json`` (the same without throughput)."""
    (out_dir / "results.json").write_text(dumps(results), encoding="utf-8")
    (out_dir / "metrics.json").write_text(dumps(metrics_only(results)), encoding="utf-8")


def write_frames(fh: TextIO, model: str, run: ClipRun) -> None:
    """Append one JSON line per analysed frame of ``run`` to ``fh`` (frames.jsonl)."""
    for f in run.frames:
        line = {
            "model": model,
            "file": run.plan.row.file,
            "frame": f.index,
            "t_s": r3(f.t_s),
            "pass_t_s": r3(f.pass_t_s),
            "label": f.label,
            "scores": {c: r6(s) for c, s in f.scores.items()},
            "smoothed": {c: r6(s) for c, s in f.smoothed.items()},
            "transitions": [
                {"cls": t.cls, "transition": t.transition, "score": r6(t.score)}
                for t in f.transitions
            ],
        }
        if f.inputs is not None:  # every network input: replay the smoothing per region
            line["inputs"] = {
                "tiles": f.inputs.tiles,
                "boxes": [[round(x, 4) for x in b] for b in f.inputs.boxes],
                "scores": [[round(float(x), 4) for x in row] for row in f.inputs.scores],
            }
        fh.write(json.dumps(line, sort_keys=True) + "\n")


def read_frames(path: Path) -> Iterable[Json]:
    """Read frames.jsonl back, one dict per analysed frame."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def plot_name(file: str) -> str:
    """``timeline_<clip stem>.png`` with characters unsafe in file names replaced."""
    stem = Path(file).with_suffix("").as_posix()
    return "timeline_" + re.sub(r"[^A-Za-z0-9._-]+", "_", stem) + ".png"


def fmt(x: Any, unit: str = "", digits: int = 2) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.{digits}f}{unit}"
    return f"{x}{unit}"


def minutes(seconds: float | None) -> str:
    """Seconds as ``"45 s"`` below two minutes, else ``"12.5 min"``."""
    if seconds is None:
        return "–"
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


MODEL_HEAD = (
    "model|recall|TTD median|TTD mean|false events|per camera-hour|frame P|frame R|frame F1"
)
STAGES = ("decode", "preprocess", "inference", "postprocess", "smoothing")
CLIP_HEAD = "clip|label|detected|TTD|false events|peak score|frames|real time|plot"


def _model_row(m: Json) -> list[str]:
    a = m["aggregate"]
    rates = ("false_events_per_camera_hour", "frame_precision", "frame_recall", "frame_f1")
    return [
        f"`{m['model']}`",
        f"{a['detected_clips']}/{a['positive_clips']} = {fmt(a['recall'])}",
        minutes(a["ttd_median_s"]),
        minutes(a["ttd_mean_s"]),
        str(a["false_events"]),
        *(fmt(a[k]) for k in rates),
    ]


def _throughput_row(m: Json) -> list[str]:
    t = m["throughput"]
    head = [f"`{m['model']}`", str(t["frames"]), fmt(t["frames_per_s"], digits=1)]
    return head + [fmt(t["ms_per_frame"][k]) for k in STAGES]


def _clip_row(c: Json) -> list[str]:
    looped = " (looped)" if c["looped"] else ""
    return [
        c["file"],
        c["label"],
        fmt(c["detected"]),
        minutes(c["ttd_s"]),
        str(c["false_events"]),
        fmt(c["peak_score"]),
        str(c["frames"]),
        minutes(c["real_s"]) + looped,
        f"[png]({plot_name(c['file'])})",
    ]


SWEEP_HEAD = "threshold|recall|TTD median|TTDs|false events|frame F1|missed|false events on"


def _sweep_row(point: Json, sweep: Json) -> list[str]:
    marks = [
        name
        for name, value in (("model", sweep["model_threshold"]), ("suggested", sweep["suggested"]))
        if value is not None and abs(point["threshold"] - value) < 1e-9
    ]
    label = f"{point['threshold']:.3f}" + (f" ({', '.join(marks)})" if marks else "")
    return [
        label,
        f"{point['detected_clips']}/{point['positive_clips']}",
        minutes(point["ttd_median_s"]),
        ", ".join(minutes(t) for t in point["ttd_s"]) or "–",
        str(point["false_events"]),
        fmt(point["frame_f1"]),
        ", ".join(point["missed"]) or "–",
        ", ".join(point["false_event_clips"]) or "–",
    ]


def _sweep_lines(m: Json) -> list[str]:
    sweep = m.get("sweep")
    if not sweep:
        return []
    best = "none" if sweep["suggested"] is None else f"{sweep['suggested']:.3f}"
    return [
        "",
        f"## Operating points: `{m['model']}`, {sweep['class']} threshold",
        "",
        f"The same scores replayed through the smoother; model threshold "
        f"{sweep['model_threshold']:.3f}, suggested {best} (the highest with the best recall "
        "and no false event).",
        "",
        *table(SWEEP_HEAD.split("|"), (_sweep_row(p, sweep) for p in sweep["points"])),
    ]


def summary_markdown(results: Json) -> str:
    """The human summary: a table per model, throughput, per-clip tables and failures."""
    models, s = results["models"], results["settings"]
    lines = [
        "# Clip benchmark",
        "",
        f"Clips: `{results['clips_csv']}`; analysis interval {s['interval_s']} s; short videos "
        f"looped to {s['min_clip_seconds']} s of real time; batch {s['batch']}.",
        "",
        "## Models",
        "",
        *table(MODEL_HEAD.split("|"), map(_model_row, models)),
        "",
        "## Throughput (ms per analysed frame)",
        "",
        *table(["model", "frames", "frames/s", *STAGES], map(_throughput_row, models)),
    ]
    for m in models:
        lines += ["", f"## Clips: `{m['model']}`", ""]
        lines += table(CLIP_HEAD.split("|"), map(_clip_row, m["clips"]))
        lines += _sweep_lines(m)
    lines += ["", "## Failures", ""]
    if results["failures"]:
        rows = ([str(f["line"]), f["file"], f["error"]] for f in results["failures"])
        lines += table(["line", "clip", "error"], rows)
    else:
        lines.append("None: every row of the clips table was benchmarked.")
    return "\n".join(lines) + "\n"
