"""Small helpers over SQLAlchemy results, shared by the stores."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result


def rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE or DELETE (SQLAlchemy types ``session.execute()`` results
    generically)."""
    return int(cast(CursorResult[Any], result).rowcount)
