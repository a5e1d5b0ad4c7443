"""Every table of the database in one metadata: what the migrations must build.

Each table module registers its tables on :class:`store.db.Base` when imported; this module
imports them all, so the Alembic environment and the schema test see the whole schema.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from store import account_tables, alert_tables, bus_tables, cameras, mutes
from store.db import Base

#: The modules whose tables make up the schema, besides :mod:`store.db`'s own.
TABLE_MODULES = (account_tables, alert_tables, bus_tables, cameras, mutes)


def metadata_with_all_tables() -> MetaData:
    """``Base.metadata`` with every table of the schema registered."""
    return Base.metadata
