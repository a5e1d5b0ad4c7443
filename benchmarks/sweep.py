"""Operating points: the clips' scores replayed through the real smoother at other thresholds.

Scoring is what a clip benchmark spends its time on; smoothing costs next to nothing. So
``bench clips --sweep smoke=0.3:0.95:0.05`` plays every clip once, then feeds each analysed
frame's raw scores, in order and with their timestamps, to a fresh :class:`CameraSmoother` per
threshold of the swept class (the other classes keep the model's thresholds), and scores the
events it opens with the same metrics code. The row at the model's own threshold reproduces the
benchmark's events exactly.

The suggested operating point is the **highest** threshold that reaches the best recall of the
sweep with at most ``max_false_events`` false events: among equally sensitive choices, the one
furthest from the false alarms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.clips import ClipRun
from benchmarks.metrics import EventOpen, FrameCounts, aggregate, clip_outcome, frame_counts
from benchmarks.report import r3, r6
from detector.config import SmoothingConfig
from detector.smoothing import CameraSmoother
from detector.types import Transition

Json = dict[str, Any]
#: Most thresholds one sweep may replay (each replays every clip).
MAX_POINTS = 200


class SweepError(ValueError):
    """A ``--sweep`` value that cannot be used, with what is wrong."""


@dataclass(frozen=True)
class SweepSpec:
    cls: str
    thresholds: tuple[float, ...]


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SweepError(f"{text!r} is not a number") from None
    if not 0.0 < value <= 1.0:
        raise SweepError(f"threshold {value} is outside (0, 1]")
    return value


def parse_sweep(text: str) -> SweepSpec:
    """``CLASS=LO:HI:STEP`` (inclusive range) or ``CLASS=T1,T2,...``."""
    cls, sep, values = text.partition("=")
    if not sep or not cls.strip() or not values.strip():
        raise SweepError(f"--sweep {text!r}: expected CLASS=LO:HI:STEP or CLASS=T1,T2,...")
    if ":" in values:
        parts = values.split(":")
        if len(parts) != 3:
            raise SweepError(f"--sweep {text!r}: a range is LO:HI:STEP")
        lo, hi, step = (_float(p) for p in parts)
        if hi < lo:
            raise SweepError(f"--sweep {text!r}: HI is below LO")
        count = round((hi - lo) / step) + 1
        points = [round(lo + i * step, 6) for i in range(count) if lo + i * step <= hi + 1e-9]
    else:
        points = [_float(p) for p in values.split(",")]
    if len(points) > MAX_POINTS:
        raise SweepError(f"--sweep {text!r}: {len(points)} thresholds, at most {MAX_POINTS}")
    return SweepSpec(cls.strip(), tuple(sorted(set(points))))


def replay_opens(
    run: ClipRun,
    classes: Sequence[str],
    thresholds: Mapping[str, float],
    smoothing: SmoothingConfig,
) -> list[EventOpen]:
    """The events ``run``'s frames open with ``thresholds``, in time order."""
    smoother = CameraSmoother(run.plan.row.file, classes, thresholds, smoothing)
    return [
        EventOpen(u.cls, u.ts)
        for f in run.frames
        for u in f.replay(smoother)
        if u.transition is Transition.OPENED
    ]


def _point(
    runs: Sequence[ClipRun],
    classes: Sequence[str],
    thresholds: Mapping[str, float],
    smoothing: SmoothingConfig,
) -> Json:
    outcomes = [
        clip_outcome(
            r.plan.truth,
            replay_opens(r, classes, thresholds, smoothing),
            r.frame_scores(),
            r.plan.real_s,
        )
        for r in runs
    ]
    counts = sum(
        (frame_counts(r.plan.truth, r.frame_scores(), thresholds) for r in runs), FrameCounts()
    )
    agg = aggregate(outcomes, counts)
    files = [r.plan.row.file for r in runs]
    return {
        "recall": r6(agg.recall),
        "detected_clips": agg.detected_clips,
        "positive_clips": agg.positive_clips,
        "ttd_median_s": r3(agg.ttd_median_s),
        "ttd_s": [r3(o.ttd_s) for o in outcomes if o.ttd_s is not None],
        "false_events": agg.false_events,
        "false_events_per_camera_hour": r6(agg.false_events_per_camera_hour),
        "frame_f1": r6(agg.frame_f1),
        "missed": [f for f, o in zip(files, outcomes, strict=True) if o.detected is False],
        "false_event_clips": [
            f for f, o in zip(files, outcomes, strict=True) if o.false_events > 0
        ],
    }


def suggest(points: Sequence[Json], max_false_events: int = 0) -> float | None:
    """Highest threshold with the best recall among points with few enough false events."""
    allowed = [p for p in points if p["false_events"] <= max_false_events]
    if not allowed:
        return None
    best = max(p["recall"] or 0.0 for p in allowed)
    return float(max(p["threshold"] for p in allowed if (p["recall"] or 0.0) == best))


def sweep_model(
    runs: Sequence[ClipRun],
    classes: Sequence[str],
    thresholds: Mapping[str, float],
    smoothing: SmoothingConfig,
    spec: SweepSpec,
) -> Json:
    """The results.json ``sweep`` entry of one model (``spec.cls`` must be one of ``classes``)."""
    points = [
        {"threshold": t, **_point(runs, classes, {**thresholds, spec.cls: t}, smoothing)}
        for t in spec.thresholds
    ]
    return {
        "class": spec.cls,
        "model_threshold": thresholds[spec.cls],
        "points": points,
        "suggested": suggest(points),
    }
