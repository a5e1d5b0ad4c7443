"""Clip benchmark metrics: pure functions over small plain records, no I/O, no model.

Definitions (times are *real* seconds: frame index x seconds_per_frame_real, never frame counts):

- A clip's **matching classes** follow its label: smoke -> {smoke}, flame -> {flame},
  smoke+flame -> {smoke, flame} (either counts), smoke-unlabelled-onset -> {smoke},
  negative -> none.
- **detected** (positive clips): an event of a matching class opened at or after ignition.
  An event that opened before ignition is a false event even if it is still running at
  ignition. Unlabelled-onset clips: detected when any matching event opens. Negative clips: None.
- **ttd_s**: opening time of the first such event minus the ignition time; None when missed or
  when the onset is unlabelled.
- **false_events**: events of any class opened before ignition, or any event on a negative clip.
  Events of a non-matching class after ignition are neither detections nor false events.
- **negative time**: pre-ignition real time of labelled positive clips plus the whole played
  real time of negative clips; unlabelled-onset clips add none.
- **frame labels**: before ignition negative, at or after ignition positive (by the frame's time
  within its pass, so a looped clip is labelled by what it shows); unlabelled-onset: no label.
  A frame is predicted positive when a class's raw score reaches its threshold: a positive frame
  is a true positive only through a matching class, a negative frame is a false positive through
  any class.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

# Float tolerance when comparing a frame time (index x seconds per frame) with the ignition time
# (ignition_s x fps x seconds per frame): both are products of the same decimals.
TIME_EPS_S = 1e-6


class Label(StrEnum):
    SMOKE = "smoke"
    FLAME = "flame"
    SMOKE_FLAME = "smoke+flame"
    NEGATIVE = "negative"
    UNLABELLED_ONSET = "smoke-unlabelled-onset"

    @property
    def matching(self) -> frozenset[str]:
        """Classes whose events count as detections of this label."""
        return _MATCHING[self]

    @property
    def positive(self) -> bool:
        return self is not Label.NEGATIVE

    @property
    def onset_known(self) -> bool:
        """True for labels whose clips carry an ignition time."""
        return self in (Label.SMOKE, Label.FLAME, Label.SMOKE_FLAME)


_MATCHING = {
    Label.SMOKE: frozenset({"smoke"}),
    Label.FLAME: frozenset({"flame"}),
    Label.SMOKE_FLAME: frozenset({"smoke", "flame"}),
    Label.UNLABELLED_ONSET: frozenset({"smoke"}),
    Label.NEGATIVE: frozenset(),
}


@dataclass(frozen=True, slots=True)
class ClipTruth:
    """What a clip shows. ``ignition_real_s``: real seconds from the clip start (labelled only)."""

    label: Label
    ignition_real_s: float | None = None

    def __post_init__(self) -> None:
        if self.label.onset_known != (self.ignition_real_s is not None):
            raise ValueError(f"label {self.label} with ignition {self.ignition_real_s}")


@dataclass(frozen=True, slots=True)
class EventOpen:
    """An event of class ``cls`` opened at real time ``ts`` seconds."""

    cls: str
    ts: float


@dataclass(frozen=True, slots=True)
class FrameScore:
    """One analysed frame: raw scores (0..1 per class) and its label (None: unlabelled)."""

    scores: Mapping[str, float]
    label: bool | None


@dataclass(frozen=True, slots=True)
class ClipOutcome:
    """Per-clip event metrics. ``negative_s``: real seconds of negative time this clip adds."""

    detected: bool | None
    ttd_s: float | None
    false_events: int
    peak_score: float
    negative_s: float
    positive: bool


@dataclass(frozen=True, slots=True)
class FrameCounts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def __add__(self, other: FrameCounts) -> FrameCounts:
        return FrameCounts(
            self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn
        )


@dataclass(frozen=True, slots=True)
class Aggregate:
    """Per-model metrics over clips; None where the denominator is empty."""

    recall: float | None
    ttd_median_s: float | None
    ttd_mean_s: float | None
    false_events: int
    false_events_per_camera_hour: float | None
    negative_hours: float
    frame_precision: float | None
    frame_recall: float | None
    frame_f1: float | None
    positive_clips: int
    detected_clips: int
    frames: FrameCounts


def at_or_after(ts: float, ignition_s: float) -> bool:
    """``ts >= ignition_s`` up to float noise of the two products."""
    return ts >= ignition_s - TIME_EPS_S


def frame_label(truth: ClipTruth, pass_t_s: float) -> bool | None:
    """Label of a frame shown ``pass_t_s`` real seconds into its pass of the clip."""
    if truth.label is Label.NEGATIVE:
        return False
    if truth.ignition_real_s is None:
        return None
    return at_or_after(pass_t_s, truth.ignition_real_s)


def negative_seconds(truth: ClipTruth, real_s: float) -> float:
    """Real seconds of no-fire footage a clip played for ``real_s`` seconds contributes."""
    if truth.label is Label.NEGATIVE:
        return real_s
    if truth.ignition_real_s is None:
        return 0.0
    return min(truth.ignition_real_s, real_s)


def peak_score(truth: ClipTruth, frames: Iterable[FrameScore]) -> float:
    """Highest raw score of a matching class (of any class on a negative clip), 0 if no frame."""
    classes = truth.label.matching if truth.label.positive else None
    return max(
        (s for f in frames for c, s in f.scores.items() if classes is None or c in classes),
        default=0.0,
    )


def clip_outcome(
    truth: ClipTruth, opens: Sequence[EventOpen], frames: Sequence[FrameScore], real_s: float
) -> ClipOutcome:
    """Event metrics of one clip from the events it opened (in time order) and its frames."""
    matching = truth.label.matching
    ignition = truth.ignition_real_s
    detected: bool | None = None
    ttd: float | None = None
    if truth.label is Label.NEGATIVE:
        false_events = len(opens)
    elif ignition is None:
        detected = any(e.cls in matching for e in opens)
        false_events = 0
    else:
        false_events = sum(1 for e in opens if not at_or_after(e.ts, ignition))
        hits = [e.ts for e in opens if e.cls in matching and at_or_after(e.ts, ignition)]
        detected = bool(hits)
        ttd = max(min(hits) - ignition, 0.0) if hits else None
    return ClipOutcome(
        detected=detected,
        ttd_s=ttd,
        false_events=false_events,
        peak_score=peak_score(truth, frames),
        negative_s=negative_seconds(truth, real_s),
        positive=truth.label.positive,
    )


def frame_counts(
    truth: ClipTruth, frames: Iterable[FrameScore], thresholds: Mapping[str, float]
) -> FrameCounts:
    """Confusion counts of a clip's labelled frames (unlabelled frames are skipped)."""
    tp = fp = fn = tn = 0
    for f in frames:
        if f.label is None:
            continue
        fired = {c for c, s in f.scores.items() if s >= thresholds.get(c, 0.5)}
        if f.label:
            hit = bool(fired & truth.label.matching)
            tp, fn = tp + hit, fn + (not hit)
        else:
            fp, tn = fp + bool(fired), tn + (not fired)
    return FrameCounts(tp, fp, fn, tn)


def precision_recall_f1(c: FrameCounts) -> tuple[float | None, float | None, float | None]:
    """Frame precision, recall, F1; None when undefined (no predicted / no actual positives)."""
    p = c.tp / (c.tp + c.fp) if c.tp + c.fp else None
    r = c.tp / (c.tp + c.fn) if c.tp + c.fn else None
    if p is None or r is None:
        return p, r, None
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def aggregate(outcomes: Sequence[ClipOutcome], counts: FrameCounts) -> Aggregate:
    """Model-level metrics over its clip outcomes and summed frame counts."""
    positives = [o for o in outcomes if o.positive]
    detected = sum(1 for o in positives if o.detected)
    ttds = [o.ttd_s for o in outcomes if o.ttd_s is not None]
    false_events = sum(o.false_events for o in outcomes)
    negative_h = sum(o.negative_s for o in outcomes) / 3600.0
    p, r, f1 = precision_recall_f1(counts)
    return Aggregate(
        recall=detected / len(positives) if positives else None,
        ttd_median_s=statistics.median(ttds) if ttds else None,
        ttd_mean_s=statistics.fmean(ttds) if ttds else None,
        false_events=false_events,
        false_events_per_camera_hour=false_events / negative_h if negative_h > 0 else None,
        negative_hours=negative_h,
        frame_precision=p,
        frame_recall=r,
        frame_f1=f1,
        positive_clips=len(positives),
        detected_clips=detected,
        frames=counts,
    )
