"""The recipe's last step: a threshold chosen by a clip-benchmark sweep, written to model.yaml."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from benchmarks.synth import SynthSpec, write_clip
from detector.modelspec import load_spec
from models.training.operating_point import GRID, RULE, choose

CSV = """\
file,label,ignition_s,seconds_per_frame_real,notes
smoke.mp4,smoke,2,0.2,plume from 2 s
clear.mp4,negative,,0.2,no plume
"""


@pytest.fixture
def strict_model(plume_model_dir: Path, tmp_path: Path) -> Path:
    """The plume model with a smoke threshold so high it detects nothing."""
    dest = shutil.copytree(plume_model_dir, tmp_path / "strict")
    spec = yaml.safe_load((dest / "model.yaml").read_text())
    spec["thresholds"]["smoke"] = 0.99
    (dest / "model.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return dest


def test_threshold_from_the_sweep_is_written(strict_model: Path, tmp_path: Path) -> None:
    small = SynthSpec(width=320, height=180, fps=5.0, seconds=12.0, plume_start_s=2.0)
    clips = tmp_path / "clips" / "dev"
    write_clip(clips / "smoke.mp4", small)
    write_clip(clips / "clear.mp4", SynthSpec(**{**small.__dict__, "plume_start_s": None}))
    (clips / "clips.csv").write_text(CSV)
    sha = load_spec(strict_model).sha256

    chosen = choose(strict_model, clips / "clips.csv", tmp_path / "bench")

    sweep = json.loads((tmp_path / "bench" / "results.json").read_text())["models"][0]["sweep"]
    found = [p for p in sweep["points"] if p["detected_clips"] == 1 and p["false_events"] == 0]
    assert found and chosen == max(p["threshold"] for p in found)
    spec = load_spec(strict_model)  # verifies the sha256 of model.onnx
    assert spec.sha256 == sha and spec.thresholds["smoke"] == chosen
    assert spec.thresholds["flame"] == 0.5, "only the swept class changes"
    assert spec.metrics["threshold_choice"] == {
        "class": "smoke",
        "threshold": chosen,
        "validation_tile_threshold": 0.99,
        "rule": RULE,
        "clips": "clips/dev/clips.csv",
        "sweep": GRID,
    }
    # Chosen again (e.g. on more clips): the validation threshold on record stays the original.
    assert choose(strict_model, clips / "clips.csv", tmp_path / "again") == chosen
    assert load_spec(strict_model).metrics["threshold_choice"]["validation_tile_threshold"] == 0.99


def test_failed_benchmark_stops_and_leaves_the_model(strict_model: Path, tmp_path: Path) -> None:
    csv = tmp_path / "clips.csv"
    csv.write_text(CSV)  # neither clip exists
    before = (strict_model / "model.yaml").read_text()
    with pytest.raises(SystemExit, match="bench clips failed"):
        choose(strict_model, csv, tmp_path / "bench")
    assert (strict_model / "model.yaml").read_text() == before
