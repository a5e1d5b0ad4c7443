"""``emberwatch export-dataset OUTDIR``: the operators' verdicts as a labelled image set.

Same layout as ``GET /api/export/dataset.zip`` (see :mod:`store.dataset`), written as a directory
that the training recipe can read next to its other sources.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from api.schemas.common import to_epoch
from cli.support import ConfigOpt, DataDirOpt, database, load_or_exit
from store.dataset import samples, write_dir
from store.events import EventFilter, EventStore


def export_dataset(
    outdir: Annotated[Path, typer.Argument(help="Directory to write (created if missing).")],
    camera: Annotated[str | None, typer.Option(help="Only this camera id.")] = None,
    since: Annotated[
        datetime | None, typer.Option(help="Events started at or after (UTC if no zone).")
    ] = None,
    until: Annotated[datetime | None, typer.Option(help="Events started before.")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Write confirmed and dismissed events' clean snapshots, regions and labels to OUTDIR."""
    cfg = load_or_exit(config, data_dir=data_dir)
    with database(cfg) as engine:
        store = EventStore(engine, cfg.snapshot_dir)
        filters = EventFilter(camera=camera, since=to_epoch(since), until=to_epoch(until))
        count = write_dir(samples(store, filters), outdir)
    typer.echo(f"{count} labelled images written to {outdir} (labels.csv, images/)")
