"""``emberwatch bench split``: the same cameras on one worker, then split over several
(:mod:`benchmarks.cluster_split`)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from benchmarks.cluster_split import bench_split


def _counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a list of worker counts like '1,2'") from None
    if not counts or min(counts) < 1:
        raise typer.BadParameter("worker counts must be 1 or more")
    return counts


def split(
    streams: Annotated[int, typer.Option(min=1, help="Cameras.")] = 16,
    workers: Annotated[str, typer.Option(help="Worker counts to run, e.g. '1,2'.")] = "1,2",
    seconds: Annotated[float, typer.Option(min=5, help="Measured window per run.")] = 60.0,
    interval: Annotated[float, typer.Option(min=0.1, help="Analysis interval (s).")] = 10.0,
    model: Annotated[Path | None, typer.Option(help="Model directory (default: shipped).")] = None,
    work_dir: Annotated[Path | None, typer.Option(help="Clip and worker logs.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write results here.")] = None,
) -> None:
    """The same cameras on one worker and split over several, on a private bus."""
    work = work_dir or Path(tempfile.mkdtemp(prefix="bench-split-"))
    summary = bench_split(
        streams,
        _counts(workers),
        seconds,
        interval,
        model,
        work,
        on_result=lambda result: typer.echo(json.dumps(asdict(result))),
    )
    if json_out is not None:
        json_out.write_text(json.dumps(summary, indent=1))
