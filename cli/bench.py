"""``emberwatch bench``: benchmark models on recorded clips, measure throughput and the API.

The work is in :mod:`benchmarks`; these are its commands.

``bench clips`` exit status: 0 when every row of the clips table was benchmarked, 1 when a row
was bad or a clip was missing or unreadable (the others still run and are reported), 2 when
nothing could run (unreadable clips table, model that does not load, invalid smoothing file).
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from benchmarks.clips_bench import (
    DEFAULT_INTERVAL_S,
    DEFAULT_LOFO_SWEEP,
    DEFAULT_MIN_CLIP_SECONDS,
    BenchError,
    BenchOptions,
    bench_clips,
)
from benchmarks.throughput import Settings, benchmark, ramp
from cli.bench_api import api
from cli.bench_split import split
from detector.config import DEFAULT_MODEL

bench_app = typer.Typer(
    help="Benchmark models on recorded clips and measure throughput.", no_args_is_help=True
)


@bench_app.callback()
def _bench() -> None:
    """Benchmark models on recorded clips and measure throughput."""


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
    copies: Annotated[
        Path | None,
        typer.Option(
            "--copies",
            help="Where --perturb keeps its copies and finds those made before (default: "
            "OUT/perturbed). Give the same folder to compare models of other runs on the "
            "same copies.",
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar, no summary on stdout.")
    ] = False,
) -> None:
    """Play every clip through the production decoder, detector and smoothing; write metrics."""
    options = BenchOptions(
        models=tuple(model or ()),
        interval_s=interval,
        min_clip_seconds=min_clip_seconds,
        smoothing_yaml=smoothing_yaml,
        threads=threads,
        batch=batch,
        plots=plots,
        sweep=sweep,
        lofo=lofo,
        perturb=perturb,
        copies=copies,
        show_progress=not quiet and sys.stderr.isatty(),
    )
    try:
        results = bench_clips(clips_csv, out, options)
    except BenchError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for failure in results["failures"]:
        typer.echo(
            f"{clips_csv}:{failure['line']}: {failure['file']}: {failure['error']}", err=True
        )
    if not quiet:
        typer.echo((out / "summary.md").read_text(encoding="utf-8"))
    raise typer.Exit(1 if results["failures"] else 0)


@bench_app.command("throughput", short_help="Cameras per core, against a naive loop.")
def throughput(
    model: Annotated[
        Path | None, typer.Option("--model", "-m", help="Model directory. Default: the shipped.")
    ] = None,
    max_streams: Annotated[int, typer.Option(min=1, help="Largest N of the ramp.")] = 64,
    streams: Annotated[
        str | None, typer.Option(help="Explicit ramp, e.g. '4,8,16' (overrides --max-streams).")
    ] = None,
    seconds_per_step: Annotated[float, typer.Option(min=1, help="Measured window per N.")] = 30.0,
    interval: Annotated[
        float | None,
        typer.Option(min=0.1, help="Analysis interval in seconds (default 10; 5 with --quick)."),
    ] = None,
    threads: Annotated[int, typer.Option(min=0, help="onnxruntime threads (both systems).")] = 1,
    refine: Annotated[
        bool, typer.Option(help="Bisect between the last good and first bad N.")
    ] = True,
    stagger: Annotated[
        bool,
        typer.Option(
            help="Connect the cameras spread over one interval, as real cameras' keyframes "
            "are not aligned; --no-stagger connects them all at once (worst case)."
        ),
    ] = True,
    scoring_threads: Annotated[
        int,
        typer.Option(min=1, help="Emberwatch's scoring threads (detector.scoring_threads)."),
    ] = 1,
    quick: Annotated[bool, typer.Option(help="Smoke test: N in 2, 4; 10 s steps.")] = False,
    only: Annotated[
        str | None, typer.Option(help="Run one system only: emberwatch or naive.")
    ] = None,
    work_dir: Annotated[Path | None, typer.Option(help="Clip and per-step files.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results here.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Cameras per core: Emberwatch's pipeline against a naive cv2 loop on loopback RTSP."""
    settings = Settings(
        model_dir=model or DEFAULT_MODEL,
        streams=tuple(int(s) for s in streams.split(",")) if streams else ramp(max_streams),
        seconds_per_step=seconds_per_step,
        interval_s=interval or 10.0,
        threads=threads,
        work_dir=work_dir or Path(tempfile.gettempdir()) / "emberwatch-bench-throughput",
        refine=refine,
        stagger=stagger,
        scoring_threads=scoring_threads,
        systems=(only,) if only else ("emberwatch", "naive"),
    )
    if quick:
        settings = replace(
            settings,
            streams=(2, 4),
            seconds_per_step=10.0,
            interval_s=interval or 5.0,
            refine=False,
        )
    if not (settings.model_dir / "model.yaml").is_file():
        typer.echo(f"error: {settings.model_dir} has no model.yaml (pass --model)", err=True)
        raise typer.Exit(2)
    doc = benchmark(settings, show_progress=not quiet and sys.stderr.isatty())
    text = json.dumps(doc, indent=2)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(text + "\n", encoding="utf-8")
    if not quiet:
        from benchmarks.throughput_report import summary_text

        typer.echo(summary_text(doc))


bench_app.command("api", short_help="Read API under concurrent viewers while cameras run.")(api)
bench_app.command("split", short_help="The same cameras on one worker and on several.")(split)
