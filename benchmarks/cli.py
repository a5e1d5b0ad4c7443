"""``emberwatch bench clips``: benchmark models on recorded clips, as the service would see them.

Exit status: 0 when every row of the clips table was benchmarked, 1 when a row was bad or a clip
was missing or unreadable (the others still run and are reported), 2 when nothing could run
(unreadable clips table, model that does not load, invalid smoothing file).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

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

bench_app = typer.Typer(
    help="Benchmark models on recorded clips and measure throughput.", no_args_is_help=True
)


@bench_app.callback()
def _bench() -> None:
    """Benchmark models on recorded clips and measure throughput."""


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


def _display_path(path: Path) -> str:
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
        model_dir=_display_path(model_dir),
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


class _Bar:
    """Progress over (model, clip) pairs: ``working`` names the current one, ``done`` counts it."""

    def __init__(self, progress: Any, task: Any) -> None:
        self._progress, self._task = progress, task

    def working(self, description: str) -> None:
        self._progress.update(self._task, description=description)

    def done(self) -> None:
        self._progress.update(self._task, advance=1)


@contextmanager
def progress_bar(total: int, enabled: bool) -> Iterator[_Bar]:
    """A rich progress bar on stderr (drawn only when ``enabled``)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    ) as progress:
        yield _Bar(progress, progress.add_task("clips", total=total))


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
        progress_bar(len(models) * len(plans), show_progress) as bar,
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


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


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


@bench_app.command("clips", short_help="Score recorded clips as the service would.")
def clips(
    clips_csv: Annotated[
        Path,
        typer.Argument(
            metavar="CLIPS.csv",
            help="Clips table (file, label, ignition_s, "
            "seconds_per_frame_real); files are relative to it.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")],
    model: Annotated[
        list[Path] | None,
        typer.Option(
            "--model",
            "-m",
            help="Model directory; repeat to compare models. Default: the shipped model.",
        ),
    ] = None,
    interval: Annotated[
        float,
        typer.Option(min=1e-3, help="Analysis interval in real seconds (default: the service's)."),
    ] = DEFAULT_INTERVAL_S,
    min_clip_seconds: Annotated[
        float,
        typer.Option(
            min=0,
            help="Loop shorter videos to this many real seconds (time-lapses are never looped).",
        ),
    ] = DEFAULT_MIN_CLIP_SECONDS,
    smoothing_yaml: Annotated[
        Path | None, typer.Option(help="YAML with smoothing settings (or a service config).")
    ] = None,
    threads: Annotated[int, typer.Option(min=0, help="onnxruntime threads; 0 = its default.")] = 0,
    batch: Annotated[int, typer.Option(min=1, help="Frames scored per model call.")] = 8,
    plots: Annotated[bool, typer.Option(help="Write the PNG plots.")] = True,
    sweep: Annotated[
        str | None,
        typer.Option(
            metavar="CLASS=LO:HI:STEP",
            help="Also replay the scores at other thresholds of one class "
            "(e.g. smoke=0.3:0.95:0.05 or smoke=0.5,0.6,0.7): operating points.",
        ),
    ] = None,
    lofo: Annotated[
        bool,
        typer.Option(
            "--lofo",
            help="Leave-one-fire-out: judge each clip at the threshold chosen on all the others "
            f"(of the --sweep class and range; default {DEFAULT_LOFO_SWEEP}).",
        ),
    ] = False,
    perturb: Annotated[
        bool,
        typer.Option(
            "--perturb",
            help="Also play every clip re-encoded (crf 28) and with its gain moved by +-10 %; "
            "report how many events appear, vanish or move (the flip rate).",
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar, no summary on stdout.")
    ] = False,
) -> None:
    """Play every clip through the production decoder, detector and smoothing; write metrics."""
    import yaml

    from benchmarks.clips import ClipsCsvError, PlaySettings, read_clips_csv
    from benchmarks.sweep import parse_sweep
    from detector.modelspec import ModelError

    try:
        table = read_clips_csv(clips_csv)
        settings = PlaySettings(interval, min_clip_seconds, load_smoothing(smoothing_yaml), batch)
        sweep_spec = parse_sweep(sweep) if sweep else None
        lofo_spec = (sweep_spec or parse_sweep(DEFAULT_LOFO_SWEEP)) if lofo else None
    except (ClipsCsvError, OSError, ValueError, yaml.YAMLError) as exc:
        raise _fail(str(exc)) from None
    try:
        loaded = [load_model(d, threads) for d in (model or [DEFAULT_MODEL])]
    except ModelError as exc:
        hint = "" if model else " (the default model; pass --model DIR to use another)"
        raise _fail(f"{exc}{hint}") from None
    for spec in (s for s in (sweep_spec, lofo_spec) if s is not None):
        for m in loaded:
            if spec.cls not in m.info.classes:
                raise _fail(f"--sweep class {spec.cls!r} is not a class of {m.info.name}")
    out.mkdir(parents=True, exist_ok=True)
    plans, failures = plan_all(table, min_clip_seconds)
    show = not quiet and sys.stderr.isatty()
    bench = run_bench(loaded, plans, settings, out / "frames.jsonl", show)
    results = build_results(bench, _display_path(clips_csv), settings, failures, threads)
    if sweep_spec:
        add_sweeps(results, bench, settings, sweep_spec)
    add_robustness(results, bench, settings, lofo_spec, out / "perturbed" if perturb else None)
    write_outputs(out, bench, results, plots)
    for failure in results["failures"]:
        typer.echo(
            f"{clips_csv}:{failure['line']}: {failure['file']}: {failure['error']}", err=True
        )
    if not quiet:
        typer.echo((out / "summary.md").read_text(encoding="utf-8"))
    raise typer.Exit(1 if results["failures"] else 0)


# Registered here so `emberwatch bench --help` lists it; the module imports only typer at load.
from benchmarks.throughput import throughput  # noqa: E402

bench_app.command("throughput", short_help="Cameras per core, against a naive loop.")(throughput)

from benchmarks.api_load_cli import api  # noqa: E402

bench_app.command("api", short_help="Read API under concurrent viewers while cameras run.")(api)

from benchmarks.cluster_split import split  # noqa: E402

bench_app.command("split", short_help="The same cameras on one worker and on several.")(split)
