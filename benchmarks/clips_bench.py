"""The clip benchmark as a library: models played over recorded clips as the service would see
them, with results.json, metrics.json, summary.md and plots written out.

``emberwatch bench clips`` (:mod:`cli.bench`) and the training recipe's choice of an operating
point (:mod:`models.training.operating_point`) both call :func:`bench_clips`. Rows that cannot be
benchmarked are listed in the results' ``failures``; :class:`BenchError` when nothing can run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.progress import progress_bar
from detector.config import DEFAULT_MODEL
from streams.config import CameraConfig

# onnxruntime, PyAV and matplotlib load only when a benchmark runs, so `emberwatch --help` and
# the other commands stay quick.
if TYPE_CHECKING:
    from benchmarks.clips import ClipPlan, ClipRun, ClipsTable, PlaySettings
    from benchmarks.report import ModelInfo
    from benchmarks.sweep import SweepSpec
    from detector.config import SmoothingConfig
    from detector.model import OnnxModel

DEFAULT_INTERVAL_S = float(CameraConfig.model_fields["interval_s"].default)  # the service's
DEFAULT_MIN_CLIP_SECONDS = 120.0
#: Thresholds a leave-one-fire-out run chooses from when no --sweep is given.
DEFAULT_LOFO_SWEEP = "smoke=0.3:0.95:0.05"


class BenchError(Exception):
    """Nothing could run: the clips table, a model, the smoothing file or the sweep is bad."""


@dataclass(frozen=True, slots=True)
class BenchOptions:
    """How to run :func:`bench_clips` (the options of ``emberwatch bench clips``)."""

    models: tuple[Path, ...] = ()  # none: the shipped model
    interval_s: float = DEFAULT_INTERVAL_S
    min_clip_seconds: float = DEFAULT_MIN_CLIP_SECONDS
    smoothing_yaml: Path | None = None
    threads: int = 0  # onnxruntime threads; 0: its default
    batch: int = 8
    plots: bool = True
    sweep: str | None = None  # CLASS=LO:HI:STEP or CLASS=T1,T2,...
    lofo: bool = False
    perturb: bool = False
    copies: Path | None = None  # where perturbed copies are kept; None: out/perturbed
    show_progress: bool = False


@dataclass(frozen=True, slots=True)
class LoadedModel:
    model: OnnxModel
    info: ModelInfo


def load_smoothing(path: Path | None) -> SmoothingConfig:
    """Smoothing settings from a YAML file: its ``smoothing:`` section, or the whole mapping.

    So both a service configuration file and a file of smoothing keys alone work.
    """
    import yaml

    from detector.config import SmoothingConfig

    if path is None:
        return SmoothingConfig()

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if isinstance(data, dict) and isinstance(data.get("smoothing"), dict):
        data = data["smoothing"]
    return SmoothingConfig.model_validate(data)


def display_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def load_model(model_dir: Path, threads: int) -> LoadedModel:
    from benchmarks.report import ModelInfo
    from detector.model import OnnxModel
    from detector.modelspec import file_sha256

    model = OnnxModel(model_dir, intra_op_threads=threads)
    info = ModelInfo(
        name=model.spec.name,
        model_dir=display_path(model_dir),
        sha256=model.spec.sha256 or file_sha256(model_dir / model.spec.file),
        classes=tuple(model.classes),
        thresholds=model.thresholds(),
    )
    return LoadedModel(model, info)


def plan_all(
    table: ClipsTable, min_clip_seconds: float
) -> tuple[list[ClipPlan], list[dict[str, Any]]]:
    """Plans for the playable rows; failures for bad rows and missing or unreadable clips."""
    from benchmarks.clips import plan_clip
    from streams.decode import StreamError

    failures = [{"line": p.line, "file": p.file, "error": p.message} for p in table.problems]
    plans: list[ClipPlan] = []
    for row in table.rows:
        try:
            if not row.path.is_file():
                raise StreamError(row.file, "file not found")
            plans.append(plan_clip(row, min_clip_seconds))
        except StreamError as exc:
            failures.append({"line": row.line, "file": row.file, "error": exc.reason})
    return plans, failures


@dataclass(frozen=True, slots=True)
class BenchRun:
    """Everything one benchmark run produced, before it is written out."""

    models: list[LoadedModel]
    runs: list[list[ClipRun]]  # per model, clips in table order
    failures: list[dict[str, Any]]


def run_bench(
    models: Sequence[LoadedModel],
    plans: Sequence[ClipPlan],
    settings: PlaySettings,
    frames_path: Path,
    show_progress: bool,
) -> BenchRun:
    """Play every clip through every model, writing frames.jsonl as it goes.

    A clip that fails to decode is reported once and skipped for the remaining models, so all
    models are compared on the same clips.
    """
    from benchmarks.clips import play_clip
    from benchmarks.report import write_frames
    from streams.decode import StreamError

    failed: dict[str, dict[str, Any]] = {}
    runs: list[list[ClipRun]] = [[] for _ in models]
    with (
        frames_path.open("w", encoding="utf-8") as fh,
        progress_bar(len(models) * len(plans), show_progress, "clips") as bar,
    ):
        for loaded, model_runs in zip(models, runs, strict=True):
            for plan in plans:
                bar.working(f"{loaded.info.name}: {plan.row.file}")
                try:
                    if plan.row.file not in failed:
                        model_runs.append(play_clip(loaded.model, plan, settings))
                        write_frames(fh, loaded.info.name, model_runs[-1])
                except StreamError as exc:
                    failed[plan.row.file] = {
                        "line": plan.row.line,
                        "file": plan.row.file,
                        "error": exc.reason,
                    }
                finally:
                    bar.done()
    return BenchRun(list(models), runs, list(failed.values()))


def build_results(
    bench: BenchRun,
    csv_name: str,
    settings: PlaySettings,
    failures: list[dict[str, Any]],
    threads: int,
) -> dict[str, Any]:
    """The results.json document (see docs/bench-clips.md for the keys)."""
    from benchmarks.clips import TIMELAPSE_SPEEDUP
    from benchmarks.report import SCHEMA_VERSION, model_result

    return {
        "schema_version": SCHEMA_VERSION,
        "clips_csv": csv_name,
        "settings": {
            "interval_s": settings.interval_s,
            "min_clip_seconds": settings.min_clip_seconds,
            "batch": settings.batch,
            "timelapse_speedup": TIMELAPSE_SPEEDUP,
            "smoothing": settings.smoothing.model_dump(mode="json"),
        },
        "failures": sorted(failures + bench.failures, key=lambda f: (f["line"], f["file"])),
        "models": [
            model_result(m.info, runs, threads)
            for m, runs in zip(bench.models, bench.runs, strict=True)
        ],
    }


def add_sweeps(
    results: dict[str, Any], bench: BenchRun, settings: PlaySettings, spec: SweepSpec
) -> None:
    """Each model's operating points at the swept thresholds (results.json ``sweep``)."""
    from benchmarks.sweep import sweep_model

    for entry, loaded, runs in zip(results["models"], bench.models, bench.runs, strict=True):
        info = loaded.info
        entry["sweep"] = sweep_model(runs, info.classes, info.thresholds, settings.smoothing, spec)


def add_robustness(
    results: dict[str, Any],
    bench: BenchRun,
    settings: PlaySettings,
    lofo: SweepSpec | None,
    perturb_dir: Path | None,
) -> None:
    """Each model's leave-one-fire-out results (``lofo``) and flip counts (``perturb``)."""
    from benchmarks.lofo import leave_one_out
    from benchmarks.perturb import perturb_model

    for entry, loaded, runs in zip(results["models"], bench.models, bench.runs, strict=True):
        info = loaded.info
        if lofo is not None:
            entry["lofo"] = leave_one_out(
                runs, info.classes, info.thresholds, settings.smoothing, lofo
            )
        if perturb_dir is not None:
            entry["perturb"] = perturb_model(loaded.model, runs, settings, perturb_dir)


def write_outputs(out: Path, bench: BenchRun, results: dict[str, Any], plots: bool) -> None:
    """results.json, metrics.json, summary.md and (unless disabled) the PNG plots."""
    from benchmarks.lofo import lofo_lines
    from benchmarks.perturb import perturb_lines
    from benchmarks.plots import ModelRun, plot_compare, plot_timeline
    from benchmarks.report import plot_name, summary_markdown, write_results

    write_results(out, results)
    extra = [line for m in results["models"] for line in lofo_lines(m) + perturb_lines(m)]
    summary = summary_markdown(results) + "".join(f"{line}\n" for line in extra)
    (out / "summary.md").write_text(summary, encoding="utf-8")
    if not plots:
        return
    by_clip: dict[str, list[ModelRun]] = {}
    for loaded, runs in zip(bench.models, bench.runs, strict=True):
        for run in runs:
            item = ModelRun(loaded.info.name, run, loaded.info.thresholds)
            by_clip.setdefault(run.plan.row.file, []).append(item)
    for file, items in by_clip.items():
        plot_timeline(out / plot_name(file), items)
    if len(bench.models) > 1:
        plot_compare(out / "compare.png", results)


@dataclass(frozen=True, slots=True)
class _Prepared:
    table: ClipsTable
    settings: PlaySettings
    sweep: SweepSpec | None
    lofo: SweepSpec | None
    models: list[LoadedModel]


def _prepare(clips_csv: Path, options: BenchOptions) -> _Prepared:
    """The clips table, settings, sweeps and models; BenchError naming what is bad."""
    import yaml

    from benchmarks.clips import ClipsCsvError, PlaySettings, read_clips_csv
    from benchmarks.sweep import parse_sweep
    from detector.modelspec import ModelError

    try:
        table = read_clips_csv(clips_csv)
        smoothing = load_smoothing(options.smoothing_yaml)
        settings = PlaySettings(
            options.interval_s, options.min_clip_seconds, smoothing, options.batch
        )
        sweep_spec = parse_sweep(options.sweep) if options.sweep else None
        lofo_spec = (sweep_spec or parse_sweep(DEFAULT_LOFO_SWEEP)) if options.lofo else None
    except (ClipsCsvError, OSError, ValueError, yaml.YAMLError) as exc:
        raise BenchError(str(exc)) from None
    try:
        loaded = [load_model(d, options.threads) for d in (options.models or (DEFAULT_MODEL,))]
    except ModelError as exc:
        hint = "" if options.models else " (the default model; pass --model DIR to use another)"
        raise BenchError(f"{exc}{hint}") from None
    for spec in (s for s in (sweep_spec, lofo_spec) if s is not None):
        for m in loaded:
            if spec.cls not in m.info.classes:
                raise BenchError(f"--sweep class {spec.cls!r} is not a class of {m.info.name}")
    return _Prepared(table, settings, sweep_spec, lofo_spec, loaded)


def bench_clips(clips_csv: Path, out: Path, options: BenchOptions) -> dict[str, Any]:
    """Play every clip of ``clips_csv`` through the production decoder, detector and smoothing
    of each model; write the results into ``out`` and return results.json's document.

    Raises:
        BenchError: nothing could run (the message names the cause).
    """
    run = _prepare(clips_csv, options)
    out.mkdir(parents=True, exist_ok=True)
    plans, failures = plan_all(run.table, options.min_clip_seconds)
    bench = run_bench(run.models, plans, run.settings, out / "frames.jsonl", options.show_progress)
    results = build_results(bench, display_path(clips_csv), run.settings, failures, options.threads)
    if run.sweep:
        add_sweeps(results, bench, run.settings, run.sweep)
    perturb_dir = (options.copies or out / "perturbed") if options.perturb else None
    add_robustness(results, bench, run.settings, run.lofo, perturb_dir)
    write_outputs(out, bench, results, options.plots)
    return results
