"""Alembic environment.

The service runs migrations on the connection :func:`store.db.init_db` hands over. From the
``alembic`` command line (``alembic.ini`` at the repository root) they run on the database of
``sqlalchemy.url``, a scratch SQLite file, to write new revisions::

    .venv/bin/alembic upgrade head
    .venv/bin/alembic revision --autogenerate -m "what changed"
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from store.db import make_engine
from store.schema import metadata_with_all_tables


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata_with_all_tables(),
        render_as_batch=True,  # SQLite alters a table by copying it: Alembic's batch mode
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    run(given)
else:
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as connection:
        run(connection)
    engine.dispose()
