"""Whether the service can still write its events and snapshots, and the free space left.

The store reports each write of an event (database) and of a snapshot (files) here. A write
that fails, for example with "No space left on device", makes the storage ``failing`` until a
write of the same kind succeeds again; free space under :func:`low_threshold` of the file
system makes it ``low``. ``/healthz`` says ``degraded`` for either, and ``/metrics`` exports the
failures per kind and the free bytes.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

WriteKind = Literal["event", "snapshot"]
StorageStatus = Literal["ok", "low", "failing"]
KINDS: tuple[WriteKind, ...] = ("event", "snapshot")
# Free space is low under 5 % of the file system, at most 100 MiB.
LOW_FRACTION, LOW_BYTES_MAX = 0.05, 100 * 1024 * 1024


def low_threshold(total_bytes: int) -> int:
    return min(LOW_BYTES_MAX, int(total_bytes * LOW_FRACTION))


def _existing(path: Path) -> Path:
    """``path`` or its nearest existing parent (a folder not made yet is on that one's disk)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path("/")


class StorageHealth:
    """Write failures per kind and the free space of the folders the service writes to."""

    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = tuple(folders)
        self._lock = threading.Lock()
        self._errors: dict[WriteKind, int] = dict.fromkeys(KINDS, 0)
        self._failing: dict[WriteKind, bool] = dict.fromkeys(KINDS, False)

    def failed(self, kind: WriteKind, reason: str) -> None:
        """A write of ``kind`` failed; the first failure after a success is logged."""
        with self._lock:
            self._errors[kind] += 1
            first = not self._failing[kind]
            self._failing[kind] = True
        if first:
            free = self.free_bytes()
            where = "unknown" if free is None else f"{free} bytes"
            log.error("storage: %s writes failing (%s); free space: %s", kind, reason, where)

    def succeeded(self, kind: WriteKind) -> None:
        with self._lock:
            recovered = self._failing[kind]
            self._failing[kind] = False
        if recovered:
            log.warning("storage: %s writes succeed again", kind)

    def errors(self) -> dict[WriteKind, int]:
        with self._lock:
            return dict(self._errors)

    def _usage(self) -> list[tuple[int, int]]:
        """(free, total) bytes of each folder's file system; unreadable ones are left out."""
        out = []
        for folder in self.folders:
            try:
                usage = shutil.disk_usage(_existing(folder))
            except OSError:
                continue
            out.append((usage.free, usage.total))
        return out

    def free_bytes(self) -> int | None:
        """The least free space over the folders, None when none could be read."""
        usage = self._usage()
        return min(free for free, _ in usage) if usage else None

    def status(self) -> StorageStatus:
        with self._lock:
            if any(self._failing.values()):
                return "failing"
        if any(free < low_threshold(total) for free, total in self._usage()):
            return "low"
        return "ok"
