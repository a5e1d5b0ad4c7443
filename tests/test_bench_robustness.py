"""Leave-one-fire-out and the flip rate under perturbed copies: hand-made tables and a real run."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from benchmarks.clips import ClipRow, plan_clip
from benchmarks.lofo import choose
from benchmarks.metrics import ClipOutcome, EventOpen, Label
from benchmarks.perturb import Flips, Perturbation, compare, copy_plan, flip_entry, write_copy
from benchmarks.synth import SynthSpec, write_clip
from cli.bench import bench_app


def ev(cls: str, ts: float) -> EventOpen:
    return EventOpen(cls, ts)


@pytest.mark.parametrize(
    ("base", "other", "expected"),
    [
        # same events, within one step (5 s): all stable
        ([ev("smoke", 100)], [ev("smoke", 104)], Flips(1, 1, 0, 0, 0)),
        # the nearest same-class event is 300 s later: moved
        ([ev("smoke", 400)], [ev("smoke", 700)], Flips(1, 0, 1, 0, 0)),
        # gone, and a new one of the other class: vanished + appeared
        ([ev("smoke", 100)], [ev("flame", 100)], Flips(1, 0, 0, 1, 1)),
        # each copy event is matched once: the second original event vanished
        ([ev("smoke", 100), ev("smoke", 110)], [ev("smoke", 101)], Flips(2, 1, 0, 1, 0)),
        # nothing before, one after: one appeared
        ([], [ev("smoke", 5)], Flips(0, 0, 0, 0, 1)),
        ([], [], Flips()),
    ],
)
def test_compare_matches_events_by_class_and_time(
    base: list[EventOpen], other: list[EventOpen], expected: Flips
) -> None:
    assert compare(base, other, step_s=5.0) == expected


@dataclass(frozen=True)
class Played:
    """A played clip as the flip count sees it: its events and its verdict."""

    events: list[EventOpen]
    verdict: ClipOutcome

    def opens(self) -> list[EventOpen]:
        return self.events

    def outcome(self) -> ClipOutcome:
        return self.verdict


def test_flip_rate_and_changed_verdicts_over_clips_and_copies() -> None:
    fire, late, missed = outcome(True, 0, 60.0), outcome(True, 0, 240.0), outcome(False, 0)
    negative, alarm = outcome(None, 0), outcome(None, 1)
    base = [
        Played([ev("smoke", 100), ev("smoke", 400)], fire),
        Played([], negative),
        Played([ev("flame", 50)], fire),
    ]
    copies = {
        "crf28": base,  # no flip, no changed verdict
        "gain+10%": [
            Played([ev("smoke", 100)], fire),  # the second event vanished: same verdict
            Played([ev("smoke", 9)], alarm),  # appeared: a false event
            Played([ev("flame", 70)], late),  # moved by 20 s (> 10 s): found 3 minutes later
        ],
    }
    entry = flip_entry(base, copies, steps=[60.0, 5.0, 10.0])
    crf, gain = entry["copies"]
    assert (crf["copy"], crf["events"], crf["stable"], crf["flip_rate"]) == ("crf28", 3, 3, 0.0)
    assert crf["verdicts_changed"] == 0 and crf["clips"] == 3
    assert (gain["moved"], gain["vanished"], gain["appeared"]) == (1, 1, 1)
    assert gain["flip_rate"] == 1.0 and gain["verdicts_changed"] == 2
    total = entry["total"]
    assert (total["events"], total["flip_rate"], total["verdicts_changed"]) == (6, 0.5, 2)
    assert missed.detected is False


def outcome(detected: bool | None, false_events: int, ttd_s: float | None = None) -> ClipOutcome:
    return ClipOutcome(detected, ttd_s, false_events, 0.9, 0.0, detected is not None)


def test_a_clip_is_judged_at_the_threshold_the_other_clips_choose() -> None:
    points = [0.4, 0.6, 0.8]
    table = [
        # fire A: found at every point
        [outcome(True, 0), outcome(True, 0), outcome(True, 0)],
        # fire B: found up to 0.6
        [outcome(True, 0), outcome(True, 0), outcome(False, 0)],
        # negative: a false event at 0.4 only
        [outcome(None, 1), outcome(None, 0), outcome(None, 0)],
    ]
    assert choose(table, points, skip=0) == 0.6  # B needs 0.6 or lower, the negative above 0.4
    assert choose(table, points, skip=1) == 0.8  # without B, the highest with full recall
    assert choose(table, points, skip=2) == 0.6  # the negative's own false event is not seen


def test_a_gain_copy_changes_brightness_and_keeps_every_frame(tmp_path: Path) -> None:
    src = write_clip(tmp_path / "c.mp4", SynthSpec(width=160, height=90, seconds=2.0, fps=5.0))
    dst = write_copy(src, tmp_path / "copy" / "c.mp4", Perturbation("gain", 12, 0.9))

    def frames(path: Path) -> list[np.ndarray]:
        with av.open(str(path)) as container:
            return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]

    original, copy = frames(src), frames(dst)
    assert len(original) == len(copy) == 10
    ratio = np.mean([c.mean() / o.mean() for o, c in zip(original, copy, strict=True)])
    assert ratio == pytest.approx(0.9, abs=0.03)


def test_a_copy_is_made_once_and_played_by_every_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two encodes of the same frames may differ: models compared on copies see the same one."""
    import benchmarks.perturb

    made: list[Path] = []

    def counted(src: Path, dst: Path, perturbation: Perturbation) -> Path:
        made.append(dst)
        return write_copy(src, dst, perturbation)

    monkeypatch.setattr(benchmarks.perturb, "write_copy", counted)
    src = write_clip(tmp_path / "c.mp4", SynthSpec(width=160, height=90, seconds=1.0, fps=5.0))
    plan = plan_clip(ClipRow("c.mp4", src, Label.SMOKE, 0.2, 0.2, 2), 0.0)
    dim, bright = Perturbation("gain", 12, 0.9), Perturbation("gain", 12, 1.1)
    first, again = (copy_plan(plan, dim, tmp_path / "copies") for _ in range(2))
    assert len(made) == 1 and first.row.path == again.row.path != src and first.row.file == "c.mp4"
    assert copy_plan(plan, bright, tmp_path / "copies").row.path != first.row.path
    write_clip(src, SynthSpec(width=160, height=90, seconds=1.0, fps=5.0, seed=9))  # new content
    assert copy_plan(plan, dim, tmp_path / "copies").row.path != first.row.path
    assert len(made) == 3 and not list((tmp_path / "copies").rglob(".*"))  # no partial file left


CSV = """\
file,label,ignition_s,seconds_per_frame_real
smoke.mp4,smoke,2,0.2
later.mp4,smoke,4,0.2
negative.mp4,negative,,0.2
"""


def test_lofo_and_perturb_through_the_command(tmp_path: Path, plume_model_dir: Path) -> None:
    spec = SynthSpec(width=320, height=180, fps=5.0, seconds=12.0, plume_start_s=2.0)
    write_clip(tmp_path / "smoke.mp4", spec)
    write_clip(tmp_path / "later.mp4", SynthSpec(**{**spec.__dict__, "plume_start_s": 4.0}))
    write_clip(tmp_path / "negative.mp4", SynthSpec(**{**spec.__dict__, "plume_start_s": None}))
    (tmp_path / "clips.csv").write_text(CSV)
    (tmp_path / "quick.yaml").write_text("smoothing: {tau_s: 3, min_persistence_s: 3}\n")
    args = ["clips", str(tmp_path / "clips.csv"), "--model", str(plume_model_dir)]
    args += ["--smoothing-yaml", str(tmp_path / "quick.yaml"), "--interval", "1"]
    args += ["--lofo", "--perturb", "--no-plots", "--quiet", "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(bench_app, args)
    assert result.exit_code == 0, result.output
    (model,) = json.loads((tmp_path / "out" / "results.json").read_text())["models"]
    lofo = model["lofo"]
    assert [c["file"] for c in lofo["clips"]] == ["smoke.mp4", "later.mp4", "negative.mp4"]
    # The plume of later.mp4 scores lower than smoke.mp4's: the threshold chosen on smoke.mp4
    # alone (the highest that finds it) misses later.mp4, as tuning on one fire misses another.
    found = {c["file"]: (c["threshold"], c["detected"]) for c in lofo["clips"]}
    assert found["smoke.mp4"][1] is True and found["later.mp4"] == (0.9, False)
    assert lofo["detected_clips"] == 1 and lofo["positive_clips"] == 2
    assert lofo["false_events"] == 0
    assert [c["copy"] for c in model["perturb"]["copies"]] == ["crf28", "gain+10%", "gain-10%"]
    assert model["perturb"]["total"]["events"] == 6  # each smoke clip's event, once per copy
    assert sorted(p.name for p in (tmp_path / "out" / "perturbed").iterdir()) == [
        "crf28",
        "gain+10pct",
        "gain-10pct",
    ]
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "## Leave-one-fire-out" in summary and "## Stability" in summary
