"""Operators' verdicts as a labelled image set: the learning loop.

Every confirmed or dismissed event contributes the clean copy of each of its snapshots (the
frame that opened it and the peak frame). Layout, as a directory or a zip archive::

    README.txt
    labels.csv
    images/<camera_id>_<event_id>_<kind>.jpg

``labels.csv`` columns:

* ``file``: path of the image relative to the dataset root (``images/...``)
* ``label``: the event's class (``smoke``, ``flame``) when an operator confirmed it,
  ``negative`` when dismissed as a false alarm: a hard negative for the next model
* ``width``, ``height``: image size in pixels
* ``boxes``: JSON list of ``[x0, y0, x1, y1]`` boxes normalised to 0..1 (origin top-left):
  where the detector saw the class in this frame. For ``negative`` rows these are the areas it
  wrongly flagged (crop them for hard-negative tiles); the rest of a negative image is negative too.
* ``camera_id``, ``event_id``, ``kind`` (opened or peak), ``score`` (smoothed score at the
  frame), ``operator``, ``decided_at`` (ISO 8601 UTC), ``note``: provenance, for splits by
  camera and for review.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from store.db import EventRecord, EventStatus
from store.events import EventFilter, EventStore
from store.snapshots import SnapshotError

log = logging.getLogger(__name__)

COLUMNS = (
    "file",
    "label",
    "width",
    "height",
    "boxes",
    "camera_id",
    "event_id",
    "kind",
    "score",
    "operator",
    "decided_at",
    "note",
)
NEGATIVE = "negative"
_PAGE = 200


@dataclass(frozen=True, slots=True)
class Sample:
    """One labelled image: where its JPEG is now and its ``labels.csv`` row."""

    source: Path
    row: dict[str, str]

    @property
    def file(self) -> str:
        return self.row["file"]


def _decided(store: EventStore, filters: EventFilter) -> Iterator[EventRecord]:
    for status in (EventStatus.CONFIRMED, EventStatus.DISMISSED):
        f = EventFilter(
            camera=filters.camera, cls=filters.cls, status=status, since=filters.since,
            until=filters.until,
        )  # fmt: skip
        offset = 0
        while True:
            page, _total = store.list_events(f, limit=_PAGE, offset=offset)
            yield from page
            if len(page) < _PAGE:
                break
            offset += _PAGE


def samples(store: EventStore, filters: EventFilter | None = None) -> Iterator[Sample]:
    """The labelled images of decided events matching ``filters`` (status is ignored)."""
    for event in _decided(store, filters or EventFilter()):
        label = event.cls if event.status == EventStatus.CONFIRMED else NEGATIVE
        decided = datetime.fromtimestamp(event.decided_at or 0, tz=UTC)
        for snap in event.snapshots:
            try:
                source = store.snapshots.resolve(snap.path_clean)
            except SnapshotError:
                continue
            if not source.is_file():
                log.warning("event %d: clean %s snapshot missing, skipped", event.id, snap.kind)
                continue
            boxes = [[round(v, 5) for v in r.box] for r in snap.regions if r.cls == event.cls]
            row = {
                "file": f"images/{event.camera_id}_{event.id}_{snap.kind.value}.jpg",
                "label": label,
                "width": str(snap.width),
                "height": str(snap.height),
                "boxes": json.dumps(boxes),
                "camera_id": event.camera_id,
                "event_id": str(event.id),
                "kind": snap.kind.value,
                "score": f"{snap.score:.4f}",
                "operator": event.operator or "",
                "decided_at": decided.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "note": event.note or "",
            }
            yield Sample(source, row)


def _labels_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _readme() -> str:
    return (__doc__ or "").split("\n", 2)[2].strip() + "\n"


def write_zip(items: Iterator[Sample], target: IO[bytes]) -> int:
    """Write the dataset as a zip archive into ``target``; return the number of images."""
    rows = []
    # JPEGs are already compressed: store them, deflate only the text files.
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as zf:
        for item in items:
            zf.write(item.source, item.file)
            rows.append(item.row)
        zf.writestr("labels.csv", _labels_csv(rows), compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("README.txt", _readme(), compress_type=zipfile.ZIP_DEFLATED)
    return len(rows)


def write_dir(items: Iterator[Sample], outdir: Path) -> int:
    """Write the dataset into directory ``outdir`` (created; files replaced); return images."""
    (outdir / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for item in items:
        (outdir / item.file).write_bytes(item.source.read_bytes())
        rows.append(item.row)
    (outdir / "labels.csv").write_text(_labels_csv(rows), encoding="utf-8")
    (outdir / "README.txt").write_text(_readme(), encoding="utf-8")
    return len(rows)
