"""Files that hold secrets are readable by the service's own user only.

The SQLite database keeps password hashes, token digests, department secrets and camera URLs
with their passwords; the data directory also holds snapshots, the initial admin password and
the link signing key. Created with the usual umask they were world-readable (0644). Here the
database file and its WAL and shared-memory files are made 0600, and the data and snapshot
directories 0700, also when an earlier version left them open. SQLite gives the journal files
it creates later the permissions of the database file.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700
_SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) and make it 0700."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _restrict(path, DIR_MODE)


def private_sqlite_file(path: Path) -> None:
    """Make the SQLite database ``path`` 0600 before SQLite opens it (created empty if
    missing: SQLite takes an empty file as a new database), and its companions 0600 too."""
    if not path.parent.exists():
        private_dir(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    for candidate in (path, *(path.with_name(path.name + s) for s in _SQLITE_COMPANIONS)):
        if candidate.exists():
            _restrict(candidate, FILE_MODE)


def _restrict(path: Path, mode: int) -> None:
    current = stat.S_IMODE(path.stat().st_mode)
    if current & ~mode:
        path.chmod(mode)
        log.info("made %s private (mode %o, was %o)", path, mode, current)
