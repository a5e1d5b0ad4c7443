"""Choose a class threshold of a trained model on the development clips, and write it.

    .venv/bin/python -m models.training.operating_point models/ember-tiles-v3 [--clips CSV]

Runs the clip benchmark once with a threshold sweep (``bench clips --sweep``: the same scores
replayed through the service's smoother at every threshold), then sets the class threshold in
``model.yaml`` to the sweep's suggestion: the highest threshold that reaches the best recall of
the sweep with no false event. The validation-tile threshold it replaces, the rule and the
sweep's clips are recorded under ``metrics.threshold_choice``. ``make train`` does this after
training when the development clips are present (``--no-dev-threshold`` keeps the validation
threshold).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.clips_bench import BenchError, BenchOptions, bench_clips
from detector.modelspec import load_spec, write_spec

#: The swept thresholds: wide enough to show where false events start and detections stop.
GRID = "0.3:0.95:0.05"
RULE = "highest threshold with the best dev-clip recall of the sweep and no false event"


def choose(model_dir: Path, clips_csv: Path, out: Path, cls: str = "smoke") -> float | None:
    """Benchmark ``model_dir`` on ``clips_csv`` with a sweep of ``cls``; write the suggestion
    into its model.yaml (unchanged when no threshold is free of false events). Returns it."""
    options = BenchOptions(models=(model_dir,), sweep=f"{cls}={GRID}", threads=1)
    try:
        results = bench_clips(clips_csv, out, options)
    except BenchError as exc:
        raise SystemExit(f"bench clips failed on {clips_csv}: {exc}") from exc
    if results["failures"]:
        raise SystemExit(f"bench clips failed on {clips_csv}: see {out}/summary.md")
    sweep = results["models"][0]["sweep"]
    chosen = sweep["suggested"]
    if chosen is None:
        return None
    spec = load_spec(model_dir)
    previous = spec.metrics.get("threshold_choice") or {}
    validation = spec.threshold(cls)
    if previous.get("class") == cls:  # chosen before: keep the validation threshold it replaced
        validation = previous["validation_tile_threshold"]
    choice = {
        "class": cls,
        "threshold": chosen,
        "validation_tile_threshold": validation,
        "rule": RULE,
        "clips": "/".join(clips_csv.parts[-3:]),
        "sweep": GRID,
    }
    update = {
        "thresholds": {**spec.thresholds, cls: chosen},
        "metrics": {**spec.metrics, "threshold_choice": choice},
    }
    write_spec(model_dir, spec.model_copy(update=update))
    return float(chosen)


def main(argv: list[str] | None = None) -> None:
    from models.training.evaluate import default_data_dir

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model_dir", type=Path)
    p.add_argument("--clips", type=Path, default=default_data_dir() / "clips/dev/clips.csv")
    p.add_argument("--cls", default="smoke")
    p.add_argument("--out", type=Path, default=Path("build/operating-point"))
    a = p.parse_args(argv)
    chosen = choose(a.model_dir, a.clips, a.out, a.cls)
    print(f"{a.cls} threshold: {chosen if chosen is not None else 'unchanged (no safe point)'}")


if __name__ == "__main__":
    main()
