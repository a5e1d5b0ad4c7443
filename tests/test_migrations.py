"""The schema comes from Alembic migrations: fresh databases match the models, and databases
made before migrations existed are taken over with their data."""

from __future__ import annotations

import importlib
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from alerts.departments import DepartmentStore
from store.db import init_db, make_engine, migrations_config
from store.events import EventStore
from store.schema import metadata_with_all_tables
from tests.fixtures.app import T0


def _differences(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata_with_all_tables()))


def _revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _head() -> str | None:
    return ScriptDirectory.from_config(migrations_config()).get_current_head()


def test_migrations_build_exactly_the_schema_of_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    init_db(engine)
    init_db(engine)  # every start runs it: the second time there is nothing to do
    # A model changed without a new revision in store/migrations/versions shows up here.
    assert _differences(engine) == []
    assert _revision(engine) == _head()


def test_a_database_from_before_migrations_keeps_its_data(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    baseline = importlib.import_module("store.migrations.versions.0001_baseline").BASELINE
    baseline.create_all(engine)  # as versions before migrations made them (create_all)
    assert _revision(engine) is None
    with engine.begin() as connection:
        event_id = connection.execute(baseline.tables["events"].insert().values(
            camera_id="ridge", camera_name="ridge", cls="smoke", status="open", started_at=T0,
            last_seen_at=T0, peak_score=0.7, last_score=0.7, regions=[], created_at=T0,
        )).inserted_primary_key[0]  # fmt: skip
        connection.execute(baseline.tables["departments"].insert().values(
            name="Fire", webhook_url="http://127.0.0.1:9/h", secret="s" * 16, enabled=True,
            auto_classes=[], auto_cameras=[], auto_min_score=0.0, auto_unconfirmed=False,
            created_at=T0, updated_at=T0))  # fmt: skip
    init_db(engine)
    assert _revision(engine) == _head()
    assert _differences(engine) == []
    event = EventStore(engine, tmp_path / "snaps").get_event(event_id)
    assert event.camera_id == "ridge" and event.started_at == T0
    assert (event.box, event.parent_id, event.reason) == (None, None, "")  # added by 0004
    (department,) = DepartmentStore(engine).list_all()  # its table was rebuilt by 0002
    assert (department.name, department.webhook_url, department.email_to) == (
        "Fire", "http://127.0.0.1:9/h", ())  # fmt: skip
