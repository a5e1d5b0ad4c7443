"""Leave-one-fire-out: every clip judged at a threshold chosen without it.

A threshold tuned on the clips it is then judged on flatters the model: on three dev fires it
says nothing about the fourth. Here each clip is scored at the operating point that
:func:`benchmarks.sweep.suggest` picks from *all the other* clips (the highest threshold with the
best recall and no false event), and the headline metrics are computed from those held-out
results. Each labelled fire of the dev set is one clip, so this is leave-one-fire-out; negative
and unlabelled clips are held out the same way, so their false events are also counted at a
threshold they did not choose.

Only the swept class's threshold is chosen; smoothing keeps its settings. Replaying costs next to
nothing (the model's outputs are recorded per frame), so every (clip, threshold) pair is replayed
once and the folds only regroup them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from benchmarks.clips import ClipRun
from benchmarks.metrics import ClipOutcome, FrameCounts, aggregate, clip_outcome
from benchmarks.report import fmt, minutes, r3, r6, table
from benchmarks.sweep import SweepSpec, replay_opens, suggest
from detector.config import SmoothingConfig

Json = dict[str, Any]


def _outcome(
    run: ClipRun, classes: Sequence[str], thresholds: Mapping[str, float], sm: SmoothingConfig
) -> ClipOutcome:
    opens = replay_opens(run, classes, thresholds, sm)
    return clip_outcome(run.plan.truth, opens, run.frame_scores(), run.plan.real_s)


def _summary(outcomes: Sequence[ClipOutcome]) -> Json:
    """What :func:`suggest` needs of one operating point over some clips."""
    agg = aggregate(outcomes, FrameCounts())
    return {"recall": agg.recall, "false_events": agg.false_events}


def choose(table: Sequence[Sequence[ClipOutcome]], points: Sequence[float], skip: int) -> float:
    """The suggested threshold over every clip but ``skip`` (``table[clip][point]``); the
    lowest point when none is free of false events."""
    rows = [
        {"threshold": t, **_summary([row[p] for i, row in enumerate(table) if i != skip])}
        for p, t in enumerate(points)
    ]
    chosen = suggest(rows)
    return points[0] if chosen is None else chosen


def leave_one_out(
    runs: Sequence[ClipRun],
    classes: Sequence[str],
    thresholds: Mapping[str, float],
    smoothing: SmoothingConfig,
    spec: SweepSpec,
) -> Json:
    """The results.json ``lofo`` entry of one model: per-clip held-out results and totals."""
    points = list(spec.thresholds)
    table = [
        [_outcome(r, classes, {**thresholds, spec.cls: t}, smoothing) for t in points] for r in runs
    ]
    held: list[ClipOutcome] = []
    clips: list[Json] = []
    for i, run in enumerate(runs):
        chosen = choose(table, points, skip=i)
        outcome = table[i][points.index(chosen)]
        held.append(outcome)
        clips.append(
            {
                "file": run.plan.row.file,
                "label": run.plan.row.label.value,
                "threshold": chosen,
                "detected": outcome.detected,
                "ttd_s": r3(outcome.ttd_s),
                "false_events": outcome.false_events,
            }
        )
    agg = aggregate(held, FrameCounts())
    return {
        "class": spec.cls,
        "recall": r6(agg.recall),
        "detected_clips": agg.detected_clips,
        "positive_clips": agg.positive_clips,
        "ttd_median_s": r3(agg.ttd_median_s),
        "false_events": agg.false_events,
        "false_events_per_camera_hour": r6(agg.false_events_per_camera_hour),
        "clips": clips,
    }


def lofo_lines(m: Json) -> list[str]:
    """summary.md section of one model's leave-one-fire-out results (none without them)."""
    lofo = m.get("lofo")
    if not lofo:
        return []
    rows = (
        [
            c["file"],
            c["label"],
            f"{c['threshold']:.3f}",
            fmt(c["detected"]),
            minutes(c["ttd_s"]),
            str(c["false_events"]),
        ]
        for c in lofo["clips"]
    )
    return [
        "",
        f"## Leave-one-fire-out: `{m['model']}`, {lofo['class']} threshold",
        "",
        f"Each clip judged at the threshold chosen on all the others: recall "
        f"{lofo['detected_clips']}/{lofo['positive_clips']}, median time to detection "
        f"{minutes(lofo['ttd_median_s'])}, {lofo['false_events']} false events "
        f"({fmt(lofo['false_events_per_camera_hour'])} per camera-hour).",
        "",
        *table(["clip", "label", "threshold", "detected", "TTD", "false events"], rows),
    ]
