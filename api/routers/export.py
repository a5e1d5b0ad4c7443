"""Exports: the event history as CSV (viewer) and the labelled dataset as a zip (admin)."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from api.auth import AUTH_RESPONSES, RequireAdmin, RequireViewer
from api.deps import StoreDep
from api.schemas.common import IsoTime, responses, snapshot_url, to_epoch
from api.schemas.export import ExportQuery
from store.dataset import samples, write_zip
from store.db import EventRecord
from store.events import EventFilter, EventStore

router = APIRouter(prefix="/api/export", tags=["export"], responses=AUTH_RESPONSES)

CSV_COLUMNS = (
    "id",
    "camera_id",
    "camera_name",
    "class",
    "status",
    "started_at",
    "ended_at",
    "duration_s",
    "peak_score",
    "operator",
    "decided_at",
    "decision_s",
    "note",
    "snapshot_url",
)
_PAGE = 500


def _iso(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def csv_row(ev: EventRecord) -> list[str]:
    end = ev.ended_at or ev.last_seen_at
    decision = f"{ev.decided_at - ev.created_at:.1f}" if ev.decided_at is not None else ""
    snap = ev.snapshot()
    return [
        str(ev.id),
        ev.camera_id,
        ev.camera_name,
        ev.cls,
        ev.status.value,
        _iso(ev.started_at),
        _iso(ev.ended_at),
        f"{max(0.0, end - ev.started_at):.1f}",
        f"{ev.peak_score:.3f}",
        ev.operator or "",
        _iso(ev.decided_at),
        decision,
        ev.note or "",
        snapshot_url(ev.id, snap.kind) if snap else "",
    ]


def _csv_lines(store: EventStore, filters: EventFilter) -> Iterator[str]:
    """Header and rows, newest first, read one page at a time (runs in a worker thread)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    offset = 0
    while True:
        page, _ = store.list_events(filters, limit=_PAGE, offset=offset)
        for ev in page:
            writer.writerow(csv_row(ev))
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        if len(page) < _PAGE:
            return
        offset += _PAGE


def _stamp() -> str:
    return datetime.now(tz=UTC).strftime("%Y%m%d-%H%M%S")


@router.get(
    "/events.csv",
    summary="Events as CSV, newest first (same filters as GET /api/events)",
    response_class=StreamingResponse,
    responses=responses({})
    | {200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV with a header."}},
)
def events_csv(
    _user: RequireViewer, store: StoreDep, query: Annotated[ExportQuery, Query()]
) -> StreamingResponse:
    headers = {"Content-Disposition": f'attachment; filename="emberwatch-events-{_stamp()}.csv"'}
    return StreamingResponse(
        _csv_lines(store, query.filters()), media_type="text/csv; charset=utf-8", headers=headers
    )


def _build_zip(store: EventStore, filters: EventFilter) -> str:
    # Kept after closing (delete=False); the response's background task removes it.
    with tempfile.NamedTemporaryFile(
        prefix="emberwatch-dataset-", suffix=".zip", delete=False
    ) as tmp:
        write_zip(samples(store, filters), tmp)
    return tmp.name


@router.get(
    "/dataset.zip",
    summary="Confirmed and dismissed events as a labelled image set (zip)",
    response_class=FileResponse,
    responses=responses({})
    | {200: {"content": {"application/zip": {}}, "description": "See README.txt."}},
)
async def dataset_zip(
    _admin: RequireAdmin,
    store: StoreDep,
    camera: Annotated[str | None, Query(description="Camera id.")] = None,
    since: Annotated[IsoTime | None, Query(description="Events started at or after.")] = None,
    until: Annotated[IsoTime | None, Query(description="Events started before.")] = None,
) -> FileResponse:
    """Clean snapshots of decided events in ``images/`` and ``labels.csv`` (file, label: the
    class or ``negative``, boxes, provenance); layout in :mod:`store.dataset` and README.txt."""
    filters = EventFilter(camera=camera, since=to_epoch(since), until=to_epoch(until))
    path = await run_in_threadpool(_build_zip, store, filters)
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"emberwatch-dataset-{_stamp()}.zip",
        background=BackgroundTask(Path(path).unlink, missing_ok=True),
    )
