"""End to end: `bench clips` on small synthetic clips with the colour-rule plume model."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from benchmarks.clips import ClipRow, PlaySettings, plan_clip, play_clip
from benchmarks.metrics import Label
from benchmarks.report import metrics_only, read_frames
from benchmarks.synth import SynthSpec, write_clip
from cli.bench import bench_app
from detector.config import SmoothingConfig
from detector.model import OnnxModel

FPS = 5.0
SPF = 1 / FPS  # ordinary video: one real frame per played frame
PLUME_AT = 2.0  # clip seconds
SMALL = SynthSpec(width=320, height=180, fps=FPS, seconds=12.0, plume_start_s=PLUME_AT)
# Quicker smoothing than the service's, so an event opens within one pass of a 12 s clip; given
# as a service configuration file (its smoothing: section is used).
SMOOTHING = {"smoothing": {"tau_s": 3.0, "min_persistence_s": 3.0, "quiet_s": 10.0}}
QUICK = SmoothingConfig(**SMOOTHING["smoothing"])
TIMELAPSE_SPF = 6.0  # the same footage read as a time-lapse: 6 real seconds per frame

CSV = f"""\
file,label,ignition_s,seconds_per_frame_real,notes
smoke.mp4,smoke,{PLUME_AT},{SPF},plume from 2 s
negative.mp4,negative,,{SPF},clouds and haze
missing.mp4,negative,,0.04,not on disk
bad.mp4,flame,soon,0.04,bad ignition
corrupt.mp4,negative,,0.04,not a video
smoke_timelapse.mp4,smoke,{PLUME_AT},{TIMELAPSE_SPF},
"""
ARGS = ["--interval", "1", "--min-clip-seconds", "30", "--quiet", "--threads", "1"]
SWEEP = "smoke=0.1:0.9:0.1"  # holds both models' thresholds (0.5 and 0.9)

TOP_KEYS = {"schema_version", "clips_csv", "settings", "failures", "models"}
MODEL_KEYS = {
    "model",
    "model_dir",
    "sha256",
    "classes",
    "thresholds",
    "aggregate",
    "throughput",
    "clips",
    "sweep",
}
AGGREGATE_KEYS = {
    "recall",
    "ttd_median_s",
    "ttd_mean_s",
    "false_events",
    "false_events_per_camera_hour",
    "frame_precision",
    "frame_recall",
    "frame_f1",
    "frames_per_s",
    "negative_hours",
    "frame_counts",
    "positive_clips",
    "detected_clips",
    "clips",
    "frames",
}
CLIP_KEYS = {
    "file", "label", "detected", "ttd_s", "false_events", "peak_score", "peak_smoothed",
    "ignition_real_s", "seconds_per_frame_real", "fps", "timelapse", "looped", "pass_frames",
    "real_s", "negative_s", "frames", "events",
}  # fmt: skip


@dataclass(frozen=True)
class Runs:
    clips: Path
    plume: Path
    first: Path
    second: Path
    exit_codes: tuple[int, int]


def _strict_copy(plume: Path, dest: Path) -> Path:
    """The plume model under another name with a higher smoke threshold."""
    shutil.copytree(plume, dest)
    spec = yaml.safe_load((dest / "model.yaml").read_text())
    spec["name"], spec["thresholds"]["smoke"] = "plume-strict", 0.9
    (dest / "model.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return dest


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, plume_model_dir: Path) -> Runs:
    root = tmp_path_factory.mktemp("bench")
    clips = root / "clips"
    write_clip(clips / "smoke.mp4", SMALL)
    write_clip(clips / "negative.mp4", SynthSpec(**{**SMALL.__dict__, "plume_start_s": None}))
    shutil.copy(clips / "smoke.mp4", clips / "smoke_timelapse.mp4")
    (clips / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    (clips / "clips.csv").write_text(CSV, encoding="utf-8")
    strict = _strict_copy(plume_model_dir, root / "strict")
    smoothing = root / "service.yaml"
    smoothing.write_text(yaml.safe_dump(SMOOTHING))
    models = ["--model", str(plume_model_dir), "--model", str(strict)]
    models += ["--smoothing-yaml", str(smoothing), "--sweep", SWEEP]
    codes = []
    for name, extra in (("first", []), ("second", ["--no-plots"])):
        result = CliRunner().invoke(
            bench_app,
            ["clips", str(clips / "clips.csv"), *models, "--out", str(root / name), *ARGS, *extra],
        )
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        codes.append(result.exit_code)
    return Runs(clips, plume_model_dir, root / "first", root / "second", (codes[0], codes[1]))


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_exit_code_and_outputs(runs: Runs) -> None:
    assert runs.exit_codes == (1, 1)  # the missing, bad and corrupt rows
    names = {p.name for p in runs.first.iterdir()}
    expected = {"results.json", "metrics.json", "frames.jsonl", "summary.md", "compare.png"}
    assert expected <= names
    assert {"timeline_smoke.png", "timeline_negative.png", "timeline_smoke_timelapse.png"} <= names
    assert not any(n.endswith(".png") for n in (p.name for p in runs.second.iterdir()))


def test_results_keys_and_failures(runs: Runs) -> None:
    results = load(runs.first / "results.json")
    assert set(results) == TOP_KEYS
    failures = [(f["line"], f["file"]) for f in results["failures"]]
    assert failures == [(4, "missing.mp4"), (5, "bad.mp4"), (6, "corrupt.mp4")]
    assert "not found" in results["failures"][0]["error"]
    plume = yaml.safe_load((runs.plume / "model.yaml").read_text())["name"]
    assert [m["model"] for m in results["models"]] == [plume, "plume-strict"]
    for model in results["models"]:
        assert set(model) == MODEL_KEYS
        assert set(model["aggregate"]) == AGGREGATE_KEYS
        assert set(model["throughput"]["ms_per_frame"]) == {
            "decode", "preprocess", "inference", "postprocess", "smoothing"
        }  # fmt: skip
        assert [c["file"] for c in model["clips"]] == [
            "smoke.mp4", "negative.mp4", "smoke_timelapse.mp4"
        ]  # fmt: skip
        for clip in model["clips"]:
            assert set(clip) == CLIP_KEYS
    summary = (runs.first / "summary.md").read_text()
    assert "missing.mp4" in summary and "| 5 | bad.mp4 |" in summary


def test_plume_model_numbers(runs: Runs) -> None:
    model = load(runs.first / "results.json")["models"][0]
    smoke, negative, timelapse = model["clips"]
    # Ordinary video is looped to 30 s of real time; the time-lapse plays once (60 x 6 s).
    assert (smoke["looped"], smoke["real_s"], smoke["timelapse"]) == (True, 30.0, False)
    assert (timelapse["looped"], timelapse["real_s"], timelapse["timelapse"]) == (False, 360, True)
    assert smoke["detected"] is True and smoke["false_events"] == 0
    assert smoke["ignition_real_s"] == PLUME_AT
    assert 0 < smoke["ttd_s"] < 30 - PLUME_AT
    assert (negative["detected"], negative["false_events"]) == (None, 0)
    assert negative["peak_score"] < 0.5 < smoke["peak_score"]
    # Time to detection in real seconds: ignition is frame 10 = 60 s of real time, and the
    # time-lapse reaches persistence within a few of its 6-second frames.
    assert timelapse["ignition_real_s"] == PLUME_AT * FPS * TIMELAPSE_SPF
    assert timelapse["detected"] is True
    assert timelapse["ttd_s"] % TIMELAPSE_SPF == pytest.approx(0, abs=1e-6)
    assert model["aggregate"]["recall"] == 1.0
    assert model["aggregate"]["false_events_per_camera_hour"] == 0.0


def _recompute(frames: list[dict[str, Any]], clip: dict[str, Any]) -> dict[str, Any]:
    """Event metrics of one clip from its frames.jsonl lines alone (+ ignition from results)."""
    ignition = clip["ignition_real_s"]
    opens = [(t["cls"], f["t_s"]) for f in frames for t in f["transitions"]
             if t["transition"] == "opened"]  # fmt: skip
    if ignition is None:
        return {"detected": None, "ttd_s": None, "false_events": len(opens)}
    hits = [ts for cls, ts in opens if cls == "smoke" and ts >= ignition]
    return {
        "detected": bool(hits),
        "ttd_s": round(min(hits) - ignition, 3) if hits else None,
        "false_events": sum(1 for _, ts in opens if ts < ignition),
    }


def test_metrics_recomputed_from_frames_jsonl(runs: Runs) -> None:
    results = load(runs.first / "results.json")
    lines = list(read_frames(runs.first / "frames.jsonl"))
    for model in results["models"]:
        mine = [f for f in lines if f["model"] == model["model"]]
        assert len(mine) == model["aggregate"]["frames"]
        thr = model["thresholds"]
        tp = fp = fn = 0
        for clip in model["clips"]:
            frames = [f for f in mine if f["file"] == clip["file"]]
            assert len(frames) == clip["frames"]
            got = {k: clip[k] for k in ("detected", "ttd_s", "false_events")}
            assert _recompute(frames, clip) == got
            assert max(f["scores"]["smoke"] for f in frames) == clip["peak_score"] or (
                clip["label"] == "negative"
            )
            for f in frames:
                label = clip["label"] == "smoke" and f["pass_t_s"] >= clip["ignition_real_s"]
                assert f["label"] is label
                fired = f["scores"]["smoke"] >= thr["smoke"]
                negative_fired = fired or f["scores"]["flame"] >= thr["flame"]
                tp += label and fired
                fn += label and not fired
                fp += (not label) and negative_fired
        agg = model["aggregate"]
        assert (tp, fp, fn) == tuple(agg["frame_counts"][k] for k in ("tp", "fp", "fn"))
        precision = tp / (tp + fp) if tp + fp else None
        assert agg["frame_precision"] == (None if precision is None else round(precision, 6))
        assert agg["frame_recall"] == round(tp / (tp + fn), 6)


def test_second_run_gives_byte_identical_metrics(runs: Runs) -> None:
    first = (runs.first / "metrics.json").read_bytes()
    assert first == (runs.second / "metrics.json").read_bytes()
    assert (runs.first / "frames.jsonl").read_bytes() == (runs.second / "frames.jsonl").read_bytes()
    results = load(runs.first / "results.json")
    assert json.loads(first) == metrics_only(results)
    assert "throughput" not in json.loads(first)["models"][0]
    assert "frames_per_s" not in json.loads(first)["models"][0]["aggregate"]


def _row(path: Path, label: Label, ignition: float | None, spf: float) -> ClipRow:
    return ClipRow(path.name, path, label, ignition, spf, line=2)


def test_batched_scoring_equals_frame_by_frame(runs: Runs, plume_model_dir: Path) -> None:
    model = OnnxModel(plume_model_dir, intra_op_threads=1)
    plan = plan_clip(_row(runs.clips / "smoke.mp4", Label.SMOKE, PLUME_AT, SPF), 20.0)
    one, many = (play_clip(model, plan, PlaySettings(1.0, 20.0, QUICK, batch=b)) for b in (1, 7))
    assert len(one.frames) == len(many.frames) == 20  # 20 s of real time, one frame a second
    assert one.frames == many.frames
    assert any(t.transition == "opened" for f in one.frames for t in f.transitions)


def test_plan_loops_video_but_never_a_timelapse(runs: Runs) -> None:
    video = plan_clip(_row(runs.clips / "smoke.mp4", Label.SMOKE, PLUME_AT, SPF), 30.0)
    assert (video.fps, video.pass_frames, video.played_frames) == (FPS, 60, 150)
    assert video.ignition_real_s == pytest.approx(PLUME_AT)
    # Frames standing for twice their playback interval or more are a time-lapse.
    lapse = plan_clip(_row(runs.clips / "smoke.mp4", Label.SMOKE, 1.0, 2 * SPF), 30.0)
    assert (lapse.timelapse, lapse.played_frames) == (True, 60)
    assert lapse.ignition_real_s == pytest.approx(FPS * 2 * SPF)


def test_nothing_runs_without_a_model_or_with_bad_smoothing(runs: Runs, tmp_path: Path) -> None:
    csv = str(runs.clips / "clips.csv")
    missing = CliRunner().invoke(
        bench_app, ["clips", csv, "--model", str(tmp_path / "nope"), "--out", str(tmp_path)]
    )
    assert missing.exit_code == 2
    assert "does not exist" in missing.output
    bad = tmp_path / "smoothing.yaml"
    bad.write_text("tau_s: -1\n")
    result = CliRunner().invoke(
        bench_app, ["clips", csv, "--smoothing-yaml", str(bad), "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "tau_s" in result.output
    assert not (tmp_path / "results.json").exists()


def test_sweep_replays_the_benchmark_and_orders_the_operating_points(runs: Runs) -> None:
    for model in load(runs.first / "results.json")["models"]:
        sweep, agg = model["sweep"], model["aggregate"]
        assert (
            sweep["class"] == "smoke" and sweep["model_threshold"] == model["thresholds"]["smoke"]
        )
        points = sweep["points"]
        assert [p["threshold"] for p in points] == [round(0.1 * i, 6) for i in range(1, 10)]
        own = next(p for p in points if p["threshold"] == sweep["model_threshold"])
        for key in ("detected_clips", "positive_clips", "false_events", "ttd_median_s"):
            assert own[key] == agg[key], key
        assert own["frame_f1"] == agg["frame_f1"]
        recalls = [p["detected_clips"] for p in points]
        falses = [p["false_events"] for p in points]
        assert recalls == sorted(recalls, reverse=True) and falses == sorted(falses, reverse=True)
    plume, strict = (m["sweep"] for m in load(runs.first / "results.json")["models"])
    assert plume["points"] == strict["points"], "same scores, same smoother: same points"
    # The negative clip's plume-free frames score low: no false event anywhere on the sweep, so
    # the suggestion is the highest threshold that still finds both smoke clips.
    best = max(p["threshold"] for p in plume["points"] if p["detected_clips"] == 2)
    assert plume["suggested"] == best
    summary = (runs.first / "summary.md").read_text()
    assert "## Operating points: `plume-strict`, smoke threshold" in summary
    assert "| 0.900 (model" in summary


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("smoke", "expected CLASS=LO:HI:STEP"),
        ("smoke=0.9:0.1:0.1", "HI is below LO"),
        ("smoke=0.1:0.9", "a range is LO:HI:STEP"),
        ("smoke=0.5,high", "'high' is not a number"),
        ("smoke=0.5,1.5", "outside (0, 1]"),
        ("smoke=0.001:1:0.001", "1000 thresholds, at most 200"),
        ("fog=0.5", "'fog' is not a class of"),
    ],
)
def test_bad_sweep_is_refused_before_anything_runs(
    runs: Runs, tmp_path: Path, value: str, message: str
) -> None:
    args = ["clips", str(runs.clips / "clips.csv"), "--model", str(runs.plume), "--sweep", value]
    result = CliRunner().invoke(bench_app, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "out").exists()


def test_wired_into_the_main_command() -> None:
    from cli.main import app

    result = CliRunner().invoke(app, ["bench", "clips", "--help"])
    assert result.exit_code == 0
    assert "CLIPS.csv" in result.output and "--smoothing-yaml" in result.output
