"""``emberwatch bench api`` on a real service: a short run with three viewers fills every field."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.api_load import POLLED, STREAM, LoadSettings, run_load
from benchmarks.api_load_report import LoadReport, endpoint_stats, percentile, table

pytestmark = pytest.mark.slow


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([], 0.5) is None
    assert endpoint_stats("/x", [], 2, 1.0).p99_ms is None


def test_short_run_reports_every_endpoint_and_the_analysis_rate(
    plume_model_dir: Path, tmp_path: Path
) -> None:
    settings = LoadSettings(
        viewers=3, seconds=3, cameras=2, model_dir=plume_model_dir, work_dir=tmp_path
    )
    report = run_load(settings)
    assert isinstance(report, LoadReport)
    assert [e.path for e in report.endpoints] == list(POLLED)
    for e in report.endpoints:
        assert e.requests > 0 and e.errors == 0
        assert e.per_second > 0 and e.p50_ms is not None and e.p99_ms is not None
        assert e.p50_ms <= e.p99_ms
    assert report.stream.connected == 3 and report.stream.errors == 0
    assert report.stream.connect.path == STREAM
    assert report.idle_analysis_fps > 0 and report.load_analysis_fps > 0
    assert report.analysis_ratio is not None
    data = report.to_dict()
    assert {"endpoints", "stream", "idle_analysis_fps", "load_analysis_fps"} <= data.keys()
    text = table(report)
    assert "`GET /api/events`" in text and "Analysis rate" in text
