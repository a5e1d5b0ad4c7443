"""The database and the data directory are private to the service's user (0600 / 0700)."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from service.config import AppConfig
from tests.fixtures.app import FakePipeline, camera_configs, open_event


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The common default, under which new files are world-readable."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _run(config: AppConfig) -> TestClient:
    return TestClient(create_app(config, pipeline=FakePipeline(config.cameras)))


def test_a_new_data_directory_is_private(tmp_path: Path) -> None:
    config = AppConfig(data_dir=tmp_path / "data", cameras=camera_configs(tmp_path))
    with _run(config) as client:
        open_event(client)  # a write: the WAL file exists now
        database = config.data_dir / "emberwatch.db"
        assert mode(config.data_dir) == 0o700 and mode(config.snapshot_dir) == 0o700
        assert mode(database) == 0o600
        assert mode(database.with_name("emberwatch.db-wal")) == 0o600


def test_an_open_data_directory_left_by_an_earlier_version_is_closed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    database = data / "emberwatch.db"
    sqlite3.connect(database).close()
    database.chmod(0o644)
    config = AppConfig(data_dir=data, cameras=camera_configs(tmp_path))
    with _run(config):
        assert mode(data) == 0o700 and mode(database) == 0o600
