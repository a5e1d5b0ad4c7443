"""``bench throughput``: judging steps, the ramp, and a tiny real run that writes the JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmarks.throughput import Settings, benchmark, ramp, ramp_system
from benchmarks.throughput_report import (
    StepResult,
    evaluate,
    failed_step,
    ratio_cores_per_stream,
    summarize,
)
from benchmarks.throughput_worker import StepMeasure, StepSpec, bench_model, start_spread
from tests.fixtures.media import require_rtsp

REQUIRED = {"max_streams", "cores_per_100_streams", "latency_p95_s", "rss_mb_per_stream"}


def measure(**kw: object) -> StepMeasure:
    """Two cameras, 30 s window, analysed every 10 s, decoding every frame at 25 fps."""
    fields: dict[str, object] = {
        "system": "emberwatch",
        "streams": 2,
        "window_s": 30.0,
        "cpu_s": 3.0,
        "rss_mb": 300.0,
        "latencies_s": [0.2, 0.3, 0.4, 0.5],
        "analyses": {"cam000": [1.0, 11.0, 21.0], "cam001": [5.0, 15.0, 25.0]},
        "decoded": {"cam000": 750, "cam001": 750},
        "keyframes_only": {"cam000": False, "cam001": False},
    }
    fields.update(kw)
    return StepMeasure(**fields)  # type: ignore[arg-type]


def judge(m: StepMeasure) -> StepResult:
    return evaluate(m, interval_s=10.0, gop_s=2.0, fps=25.0, server_cores=0.1)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({}, ""),
        ({"analyses": {"cam000": [1.0, 11.0, 21.0]}}, "1 camera(s) never analysed"),
        ({"analyses": {"cam000": [1.0, 21.0], "cam001": [5.0, 15.0, 25.0]}}, "waited 20.0 s"),
        ({"latencies_s": [0.5] * 90 + [3.0] * 10}, "p95 latency"),
        ({"decoded": {"cam000": 750, "cam001": 600}}, "decoding fell behind (80% of frames)"),
        # Keyframes only: a camera decodes just the keyframes it analyses.
        (
            {"decoded": {"cam000": 3, "cam001": 3}, "keyframes_only": {"cam000": True}},
            "decoding fell behind",
        ),
        (
            {
                "decoded": {"cam000": 3, "cam001": 3},
                "keyframes_only": {"cam000": True, "cam001": True},
            },
            "",
        ),
    ],
)
def test_evaluate(change: dict[str, object], reason: str) -> None:
    result = judge(measure(**change))
    assert result.sustained is (reason == "")
    assert reason in result.reason
    assert result.cores == pytest.approx(0.1)
    assert result.cores_per_stream == pytest.approx(0.05)


def test_ramp_doubles_and_includes_the_maximum() -> None:
    assert ramp(1) == (1,)
    assert ramp(20) == (1, 2, 4, 8, 16, 20)
    assert ramp(16) == (1, 2, 4, 8, 16)


def test_ramp_stops_at_the_first_failure_and_bisects(tmp_path: Path) -> None:
    capacity = 11
    asked: list[int] = []

    def step(system: str, n: int) -> StepResult:
        asked.append(n)
        result = judge(measure(streams=n))
        return result if n <= capacity else failed_step(system, n, "too many")

    settings = Settings(tmp_path, ramp(64), 30.0, 10.0, 1, tmp_path, refine=True)
    results = ramp_system("emberwatch", settings, step)
    assert asked[:5] == [1, 2, 4, 8, 16]  # stops after the first failure
    assert max(r.streams for r in results if r.sustained) == capacity
    assert [r.streams for r in results] == sorted(asked)


def test_summary_and_ratio_at_a_common_n() -> None:
    ember = [judge(measure(streams=n, cpu_s=0.3 * n)) for n in (2, 4)]
    naive = [judge(measure(system="naive", streams=n, cpu_s=3.0 * n)) for n in (2, 4)]
    naive.append(failed_step("naive", 8, "too many"))
    ratio, at = ratio_cores_per_stream(ember + naive)
    assert (ratio, at) == (pytest.approx(10.0), 4)
    doc = summarize(ember + naive, {"interval_s": 10.0})
    assert set(doc["emberwatch"]) >= REQUIRED and set(doc["baseline"]) >= REQUIRED
    assert doc["emberwatch"]["max_streams"] == 4 and doc["baseline"]["max_streams"] == 4
    assert doc["emberwatch"]["cores_per_100_streams"] == pytest.approx(100 * 0.3 / 30)
    assert doc["ratio_cores_per_stream"] == pytest.approx(10.0)
    json.dumps(doc)  # plain JSON


@pytest.mark.slow
def test_tiny_real_run_writes_the_json_keys(tmp_path: Path, plume_model_dir: Path) -> None:
    """Two cameras per system over loopback RTSP, connected 1 s apart (numbers not checked).

    Emberwatch scores on two threads here; the step would fail if any camera went unanalysed.
    """
    require_rtsp()
    settings = Settings(
        model_dir=plume_model_dir,
        streams=(2,),
        seconds_per_step=4.0,
        interval_s=2.0,
        threads=1,
        work_dir=tmp_path,
        size=(640, 360),
        scoring_threads=2,
    )
    doc = benchmark(settings, show_progress=False)
    for key in ("emberwatch", "baseline"):
        assert set(doc[key]) >= REQUIRED, doc[key]
        step = doc[key]["steps"][0]
        assert step["streams"] == 2 and step["window_s"] > 0, step
        assert step["analysed_per_s"] > 0, step
        assert step["cores"] > 0 and step["rss_mb"] > 0
    assert "ratio_cores_per_stream" in doc and doc["settings"]["stagger"] is True
    assert doc["settings"]["scoring_threads"] == 2
    json.dumps(doc)


def test_command_is_registered_and_checks_the_model(tmp_path: Path) -> None:
    from cli.main import app

    runner = CliRunner()
    result = runner.invoke(app, ["bench", "throughput", "--model", str(tmp_path), "--quick"])
    assert result.exit_code == 2
    assert "has no model.yaml" in result.output


def test_start_spread_calls_every_start_in_order_over_the_interval() -> None:
    calls: list[str] = []
    naps: list[float] = []
    starts = [lambda name=name: calls.append(name) for name in ("a", "b", "c", "d")]
    start_spread(starts, 10.0, sleep=naps.append)
    assert calls == ["a", "b", "c", "d"]
    assert naps == [2.5, 2.5, 2.5]  # the first camera at once, the last 7.5 s later
    calls.clear()
    start_spread(starts, 0.0, sleep=naps.append)
    assert calls == ["a", "b", "c", "d"] and len(naps) == 3  # no stagger: no sleeping
    start_spread([], 10.0, sleep=naps.append)


def test_bench_model_gives_focus_crops_from_the_second_analysis(
    focus_model_dir: Path, plume_model_dir: Path
) -> None:
    def spec(model_dir: Path) -> StepSpec:
        return StepSpec("emberwatch", [], 10.0, str(model_dir), 1, 20.0, 40.0)

    assert bench_model(spec(focus_model_dir)).spec.focus.reference_s == 5.0
    assert bench_model(spec(focus_model_dir)).spec.focus.crops == 3
    assert bench_model(spec(plume_model_dir)).spec.focus.crops == 0  # nothing to hurry
