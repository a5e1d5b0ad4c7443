"""The ``emberwatch bench api`` command (the work is in :mod:`benchmarks.api_load`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def api(
    viewers: Annotated[int, typer.Option(min=1, max=1000, help="Concurrent viewers.")] = 50,
    seconds: Annotated[
        float, typer.Option(min=1, max=3600, help="Length of the idle and of the load phase.")
    ] = 30.0,
    cameras: Annotated[
        int, typer.Option(min=1, max=64, help="Looping synthetic file cameras analysed.")
    ] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    work_dir: Annotated[
        Path | None,
        typer.Option(help="Keep the clip, configuration, data and service log here."),
    ] = None,
) -> None:
    """Concurrent viewers read events, cameras and the live stream while cameras are analysed."""
    from benchmarks.api_load import LoadSettings, run_load
    from benchmarks.api_load_report import table

    settings = LoadSettings(viewers=viewers, seconds=seconds, cameras=cameras, work_dir=work_dir)
    try:
        report = run_load(settings)
    except RuntimeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(report.to_dict(), indent=2) if as_json else table(report))
