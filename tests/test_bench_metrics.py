"""Clip benchmark metric definitions on small hand-made tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.clips import ClipsCsvError, read_clips_csv
from benchmarks.metrics import (
    ClipTruth,
    EventOpen,
    FrameCounts,
    FrameScore,
    Label,
    aggregate,
    clip_outcome,
    frame_counts,
    frame_label,
    negative_seconds,
    precision_recall_f1,
)

# A FIgLib-like time-lapse: one frame a minute, ignition at frame 40 = 2400 s of real time.
SPF = 60.0
FIGLIB = ClipTruth(Label.SMOKE, ignition_real_s=40 * SPF)
NEG = ClipTruth(Label.NEGATIVE)
UNLABELLED = ClipTruth(Label.UNLABELLED_ONSET)


def frames(*scores: float, cls: str = "smoke") -> list[FrameScore]:
    return [FrameScore({cls: s}, None) for s in scores]


def test_event_one_frame_before_ignition_is_a_false_event() -> None:
    out = clip_outcome(FIGLIB, [EventOpen("smoke", 39 * SPF)], [], real_s=81 * SPF)
    assert out.false_events == 1
    assert out.detected is False
    assert out.ttd_s is None


def test_event_at_ignition_is_a_detection_with_zero_ttd() -> None:
    out = clip_outcome(FIGLIB, [EventOpen("smoke", 40 * SPF)], [], real_s=81 * SPF)
    assert (out.detected, out.ttd_s, out.false_events) == (True, 0.0, 0)


def test_clip_with_no_event_is_a_miss() -> None:
    out = clip_outcome(FIGLIB, [], frames(0.1, 0.2), real_s=81 * SPF)
    assert out.detected is False
    assert out.ttd_s is None
    assert out.false_events == 0
    assert out.peak_score == 0.2


def test_time_to_detection_is_real_time_not_frames() -> None:
    # Opened 3 frames after ignition: 3 minutes of real time, not 3 (frames) nor 0.75 (clip s).
    out = clip_outcome(FIGLIB, [EventOpen("smoke", 43 * SPF)], [], real_s=81 * SPF)
    assert out.ttd_s == pytest.approx(180.0)


def test_ttd_uses_first_matching_event_and_ignores_other_classes() -> None:
    opens = [
        EventOpen("smoke", 10 * SPF),  # before ignition: false
        EventOpen("flame", 41 * SPF),  # wrong class after ignition: neither
        EventOpen("smoke", 45 * SPF),
        EventOpen("smoke", 60 * SPF),
    ]
    out = clip_outcome(FIGLIB, opens, [], real_s=81 * SPF)
    assert (out.detected, out.ttd_s, out.false_events) == (True, 300.0, 1)


def test_smoke_and_flame_label_matches_either_class() -> None:
    truth = ClipTruth(Label.SMOKE_FLAME, ignition_real_s=5.0)
    out = clip_outcome(truth, [EventOpen("flame", 7.5)], [], real_s=20.0)
    assert (out.detected, out.ttd_s) == (True, 2.5)


def test_negative_clip_every_event_is_false() -> None:
    out = clip_outcome(NEG, [EventOpen("smoke", 30.0), EventOpen("flame", 90.0)], [], 120.0)
    assert (out.detected, out.ttd_s, out.false_events) == (None, None, 2)
    assert out.negative_s == 120.0


def test_unlabelled_onset_detected_without_ttd_or_false_events() -> None:
    out = clip_outcome(UNLABELLED, [EventOpen("smoke", 0.0)], frames(0.9), real_s=600.0)
    assert (out.detected, out.ttd_s, out.false_events, out.negative_s) == (True, None, 0, 0.0)
    assert clip_outcome(UNLABELLED, [EventOpen("flame", 5.0)], [], 600.0).detected is False


def test_peak_score_counts_matching_classes_only_on_positives() -> None:
    mixed = [FrameScore({"smoke": 0.3, "flame": 0.8}, None)]
    assert clip_outcome(FIGLIB, [], mixed, 81 * SPF).peak_score == 0.3
    assert clip_outcome(NEG, [], mixed, 10.0).peak_score == 0.8


def test_negative_seconds() -> None:
    assert negative_seconds(FIGLIB, 81 * SPF) == 2400.0
    assert negative_seconds(FIGLIB, 1000.0) == 1000.0  # stopped before ignition
    assert negative_seconds(NEG, 120.0) == 120.0
    assert negative_seconds(UNLABELLED, 500.0) == 0.0


def test_false_events_per_camera_hour() -> None:
    # 40 min before ignition + a 20 min negative clip = 1 camera-hour of negative time.
    a = clip_outcome(FIGLIB, [EventOpen("smoke", 5 * SPF)], [], real_s=81 * SPF)
    b = clip_outcome(NEG, [EventOpen("smoke", 60.0), EventOpen("smoke", 600.0)], [], 1200.0)
    agg = aggregate([a, b], FrameCounts())
    assert agg.false_events == 3
    assert agg.negative_hours == pytest.approx(1.0)
    assert agg.false_events_per_camera_hour == pytest.approx(3.0)


def test_aggregate_recall_and_ttd() -> None:
    outs = [
        clip_outcome(FIGLIB, [EventOpen("smoke", 41 * SPF)], [], 81 * SPF),  # ttd 60
        clip_outcome(FIGLIB, [EventOpen("smoke", 45 * SPF)], [], 81 * SPF),  # ttd 300
        clip_outcome(FIGLIB, [EventOpen("smoke", 50 * SPF)], [], 81 * SPF),  # ttd 600
        clip_outcome(FIGLIB, [], [], 81 * SPF),  # miss
        clip_outcome(UNLABELLED, [EventOpen("smoke", 1.0)], [], 100.0),  # detected, no ttd
        clip_outcome(NEG, [], [], 100.0),  # not in recall
    ]
    agg = aggregate(outs, FrameCounts())
    assert agg.recall == pytest.approx(4 / 5)
    assert (agg.positive_clips, agg.detected_clips) == (5, 4)
    assert agg.ttd_median_s == 300.0
    assert agg.ttd_mean_s == pytest.approx(320.0)
    assert agg.false_events == 0
    assert agg.false_events_per_camera_hour == 0.0


def test_aggregate_without_positive_or_negative_time_is_none() -> None:
    agg = aggregate([clip_outcome(UNLABELLED, [], [], 0.0)], FrameCounts())
    assert agg.false_events_per_camera_hour is None
    assert agg.ttd_median_s is None and agg.ttd_mean_s is None
    assert aggregate([], FrameCounts()).recall is None


def test_frame_labels() -> None:
    assert frame_label(FIGLIB, 39 * SPF) is False
    assert frame_label(FIGLIB, 40 * SPF) is True
    # 3 x 0.7 = 2.0999999999999996: float noise of the two products is tolerated.
    assert frame_label(ClipTruth(Label.SMOKE, ignition_real_s=2.1), 3 * 0.7) is True
    assert frame_label(NEG, 10.0) is False
    assert frame_label(UNLABELLED, 10.0) is None


def test_frame_counts_and_prf_exclude_unlabelled_clips() -> None:
    thr = {"smoke": 0.5, "flame": 0.5}
    labelled = [
        FrameScore({"smoke": 0.6, "flame": 0.0}, False),  # FP
        FrameScore({"smoke": 0.1, "flame": 0.7}, False),  # FP through any class
        FrameScore({"smoke": 0.2, "flame": 0.0}, False),  # TN
        FrameScore({"smoke": 0.5, "flame": 0.0}, True),  # TP (threshold reached)
        FrameScore({"smoke": 0.9, "flame": 0.0}, True),  # TP
        FrameScore({"smoke": 0.1, "flame": 0.9}, True),  # FN: wrong class for a smoke clip
    ]
    unlabelled = [FrameScore({"smoke": 0.0, "flame": 0.0}, None)] * 10
    counts = frame_counts(FIGLIB, labelled, thr) + frame_counts(UNLABELLED, unlabelled, thr)
    assert counts == FrameCounts(tp=2, fp=2, fn=1, tn=1)
    p, r, f1 = precision_recall_f1(counts)
    assert p == pytest.approx(0.5)
    assert r == pytest.approx(2 / 3)
    assert f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))


def test_prf_undefined_and_zero() -> None:
    assert precision_recall_f1(FrameCounts(tn=5)) == (None, None, None)
    assert precision_recall_f1(FrameCounts(fn=3)) == (None, 0.0, None)
    assert precision_recall_f1(FrameCounts(fp=1, fn=1)) == (0.0, 0.0, 0.0)


def test_truth_needs_ignition_exactly_when_onset_is_labelled() -> None:
    with pytest.raises(ValueError):
        ClipTruth(Label.SMOKE)
    with pytest.raises(ValueError):
        ClipTruth(Label.NEGATIVE, ignition_real_s=3.0)


CSV = """\
file,label,ignition_s,seconds_per_frame_real,notes,extra
a.mp4,smoke,10,60,"two-line
note",x
b.mp4,negative,,0.04,,

c.mp4,smok,,1,,
d.mp4,smoke,,60,,
e.mp4,negative,3,0.04,,
f.mp4,flame,2,0,,
g.mp4,smoke+flame,-1,1,,
a.mp4,negative,,1,,
h.mp4,smoke-unlabelled-onset,,abc,,
i.mp4,smoke-unlabelled-onset,,0.65,,
"""


def test_csv_rows_and_line_numbered_problems(tmp_path: Path) -> None:
    path = tmp_path / "clips.csv"
    path.write_text(CSV, encoding="utf-8")
    table = read_clips_csv(path)
    assert [(r.file, r.line) for r in table.rows] == [("a.mp4", 2), ("b.mp4", 4), ("i.mp4", 13)]
    a = table.rows[0]
    assert (a.label, a.ignition_s, a.seconds_per_frame_real) == (Label.SMOKE, 10.0, 60.0)
    assert a.path == tmp_path / "a.mp4"
    assert [(p.line, p.file) for p in table.problems] == [
        (6, "c.mp4"),
        (7, "d.mp4"),
        (8, "e.mp4"),
        (9, "f.mp4"),
        (10, "g.mp4"),
        (11, "a.mp4"),
        (12, "h.mp4"),
    ]
    messages = [p.message for p in table.problems]
    assert "label 'smok'" in messages[0]
    assert "needs ignition_s" in messages[1]
    assert "listed twice" in messages[5]


def test_csv_missing_column_is_fatal(tmp_path: Path) -> None:
    path = tmp_path / "clips.csv"
    path.write_text("file,label\na.mp4,smoke\n", encoding="utf-8")
    with pytest.raises(ClipsCsvError, match="ignition_s"):
        read_clips_csv(path)
    with pytest.raises(ClipsCsvError):
        read_clips_csv(tmp_path / "absent.csv")
