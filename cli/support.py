"""Pieces shared by the command-line modules: common options, config loading, the database."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import Engine

from service.config import AppConfig, ConfigError, load_config
from store.db import init_db, make_engine

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="YAML configuration file.")]
DataDirOpt = Annotated[
    Path | None, typer.Option(help="Data directory (database).", envvar="EMBERWATCH_DATA_DIR")
]


def load_or_exit(path: Path | None, **overrides: Any) -> AppConfig:
    """The validated configuration, or the error on stderr and exit status 2."""
    try:
        return load_config(path, **overrides)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


@contextmanager
def database(config: AppConfig) -> Iterator[Engine]:
    """An engine on the configured database with every table created; disposed afterwards."""
    engine = make_engine(config.database_url)
    try:
        init_db(engine)
        yield engine
    finally:
        engine.dispose()


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
