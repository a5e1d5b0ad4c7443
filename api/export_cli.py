"""``emberwatch export-dataset OUTDIR``: the operators' verdicts as a labelled image set.

Same layout as ``GET /api/export/dataset.zip`` (see :mod:`api.dataset`), written as a directory
that the training recipe can read next to its other sources.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from api.config import ConfigError, load_config
from api.dataset import samples, write_dir
from api.db import init_db, make_engine
from api.schemas import to_epoch
from api.store import EventFilter, EventStore


def export_dataset(
    outdir: Annotated[Path, typer.Argument(help="Directory to write (created if missing).")],
    camera: Annotated[str | None, typer.Option(help="Only this camera id.")] = None,
    since: Annotated[
        datetime | None, typer.Option(help="Events started at or after (UTC if no zone).")
    ] = None,
    until: Annotated[datetime | None, typer.Option(help="Events started before.")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="YAML configuration file.")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Data directory.", envvar="EMBERWATCH_DATA_DIR")
    ] = None,
) -> None:
    """Write confirmed and dismissed events' clean snapshots, regions and labels to OUTDIR."""
    try:
        cfg = load_config(config, data_dir=data_dir)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    engine = make_engine(cfg.database_url)
    try:
        init_db(engine)
        store = EventStore(engine, cfg.snapshot_dir)
        filters = EventFilter(camera=camera, since=to_epoch(since), until=to_epoch(until))
        count = write_dir(samples(store, filters), outdir)
    finally:
        engine.dispose()
    typer.echo(f"{count} labelled images written to {outdir} (labels.csv, images/)")
