"""Event snapshots: JPEG rendering (with or without drawn regions) and atomic file writing.

Layout under the snapshot directory::

    <camera_id>/<YYYY-MM-DD>/<HHMMSS>_<cls>_<kind>_<token>.jpg         regions drawn
    <camera_id>/<YYYY-MM-DD>/<HHMMSS>_<cls>_<kind>_<token>_clean.jpg   the frame as decoded

The date and time are the frame's capture time in UTC. Paths stored in the database are
relative to the snapshot directory so the directory can move.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from detector.types import Box, Region
from store.health import StorageHealth
from streams.frame import Frame

# BGR colours per class; anything else is drawn in yellow.
_COLOURS: dict[str, tuple[int, int, int]] = {
    "smoke": (255, 160, 40),  # light blue
    "flame": (40, 40, 255),  # red
    "fire": (40, 40, 255),
}
_DEFAULT_COLOUR = (0, 220, 255)
# The event's own region (an event is about one region of the view): amber, as open events are
# in the console.
_EVENT_BOX_COLOUR = (32, 176, 255)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class SnapshotError(Exception):
    """A snapshot could not be encoded or written (the message says which file and why)."""


@dataclass(frozen=True, slots=True)
class SnapshotFiles:
    """Where a written snapshot pair lies, relative to the snapshot directory ("/"-separated)."""

    path_annotated: str
    path_clean: str
    width: int
    height: int


def _corners(
    box: Box, width: int, height: int, outset: int = 0
) -> tuple[tuple[int, int], tuple[int, int]]:
    x0, y0, x1, y1 = box
    p0 = (max(0, round(x0 * (width - 1)) - outset), max(0, round(y0 * (height - 1)) - outset))
    p1 = (round(x1 * (width - 1)) + outset, round(y1 * (height - 1)) + outset)
    return p0, (min(width - 1, p1[0]), min(height - 1, p1[1]))


def _draw_regions(bgr: np.ndarray, regions: Sequence[Region], box: Box | None) -> None:
    """Draw the event's ``box`` (amber, just outside it so that a region with the same box
    stays visible), then each region's box and a ``cls:score`` label, onto ``bgr`` in place."""
    height, width = bgr.shape[:2]
    # Scale strokes with the picture so 4K and 360p snapshots both stay readable.
    thick = max(1, round(min(width, height) / 300))
    font_scale = max(0.4, min(width, height) / 900)
    if box is not None:
        corners = _corners(box, width, height, outset=2 * thick)
        cv2.rectangle(bgr, *corners, _EVENT_BOX_COLOUR, 2 * thick)
    for region in regions:
        colour = _COLOURS.get(region.cls, _DEFAULT_COLOUR)
        p0, p1 = _corners(region.box, width, height)
        cv2.rectangle(bgr, p0, p1, colour, thick)
        label = f"{region.cls}:{region.score:.2f}"
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thick)
        # Label above the box, or inside it when the box touches the top edge.
        ty = p0[1] - base - 2 if p0[1] - th - base - 2 >= 0 else p0[1] + th + 2
        cv2.rectangle(bgr, (p0[0], ty - th - 2), (p0[0] + tw + 2, ty + base), colour, -1)
        cv2.putText(
            bgr, label, (p0[0] + 1, ty), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), thick
        )


def render_snapshot(
    image: np.ndarray,
    regions: Sequence[Region],
    *,
    annotate: bool,
    quality: int = 85,
    box: Box | None = None,
) -> bytes:
    """Encode an RGB ``H x W x 3`` uint8 image as JPEG bytes.

    With ``annotate`` the event's region ``box`` and the regions (boxes normalised to 0..1,
    with their class and score) are drawn; the input array is never modified.

    Raises:
        SnapshotError: the array has the wrong shape or JPEG encoding failed.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise SnapshotError(f"expected an HxWx3 uint8 image, got {image.shape} {image.dtype}")
    try:
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)  # a copy: the caller's frame is shared
        if annotate:
            _draw_regions(bgr, regions, box)
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    except cv2.error as exc:
        raise SnapshotError(f"JPEG encoding failed: {exc}") from exc
    if not ok:
        raise SnapshotError("JPEG encoding failed")
    return bytes(buf.tobytes())


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either nothing or the whole file.

    Writes a temporary file in the same directory, fsyncs it, renames it over ``path`` and
    fsyncs the directory so the rename itself survives a power cut.

    Raises:
        OSError: from the file system (disk full, permissions, ...); no temporary file is left.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class SnapshotWriter:
    """Renders and writes snapshot pairs under ``root``."""

    def __init__(
        self, root: Path, *, quality: int = 85, health: StorageHealth | None = None
    ) -> None:
        self.root = root
        self.quality = quality
        self.health = health  # told of every write that fails or succeeds

    def write(
        self,
        frame: Frame,
        cls: str,
        kind: str,
        regions: Sequence[Region],
        box: Box | None = None,
    ) -> SnapshotFiles:
        """Write the annotated and the clean JPEG of ``frame`` for an event of class ``cls``
        about the region ``box`` (drawn on the annotated one with the ``regions``).

        Raises:
            SnapshotError: naming the file and the reason (encoding or file-system error).
        """
        try:
            when = datetime.fromtimestamp(frame.ts, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise SnapshotError(f"frame time {frame.ts!r} is not a valid epoch time") from exc
        folder = f"{_UNSAFE.sub('_', frame.camera_id)}/{when:%Y-%m-%d}"
        stem = f"{when:%H%M%S}_{_UNSAFE.sub('_', cls)}_{kind}_{secrets.token_hex(4)}"
        annotated = f"{folder}/{stem}.jpg"
        clean = f"{folder}/{stem}_clean.jpg"
        for rel, draw in ((clean, False), (annotated, True)):
            data = render_snapshot(
                frame.image, regions, annotate=draw, quality=self.quality, box=box
            )
            try:
                atomic_write(self.root / rel, data)
            except OSError as exc:
                if self.health is not None:
                    self.health.failed("snapshot", exc.strerror or type(exc).__name__)
                raise SnapshotError(f"cannot write {self.root / rel}: {exc.strerror}") from exc
        if self.health is not None:
            self.health.succeeded("snapshot")
        return SnapshotFiles(annotated, clean, frame.width, frame.height)

    def remove(self, files: SnapshotFiles) -> None:
        """Delete a pair written earlier (replaced peak); missing files are not an error."""
        for rel in (files.path_annotated, files.path_clean):
            (self.root / rel).unlink(missing_ok=True)

    def resolve(self, rel: str) -> Path:
        """Absolute path of a stored relative path; refuses paths that leave ``root``."""
        root = self.root.resolve()
        path = (root / rel).resolve()
        if not path.is_relative_to(root):
            raise SnapshotError(f"snapshot path {rel!r} is outside the snapshot directory")
        return path
