"""What the schemas of every resource share: the error bodies and ``responses()``, bounded row
ids and offsets, boxes, ISO times and their conversion, the events path and snapshot URLs.

All times are time-zone-aware UTC datetimes (ISO 8601 with ``Z``). Boxes are
``[x0, y0, x1, y1]`` normalised to 0..1 of the frame width and height, origin top-left.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema

from store.db import SnapshotKind

# Four numbers, stated as a plain array of numbers rather than a tuple (prefixItems): some
# OpenAPI tools (schemathesis' response check among them) mishandle prefixItems in an object
# that is itself a whole response, such as a lifted mute.
BOX_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {"type": "number"},
    "minItems": 4,
    "maxItems": 4,
}
Box = Annotated[tuple[float, float, float, float], WithJsonSchema(BOX_SCHEMA)]

EVENTS_PATH = "/api/events"

# SQLite and PostgreSQL store integers in 64 signed bits; a larger number in a query raises in
# the driver (OverflowError), so every id and offset a client sends is bounded by this type.
DB_INT_MAX = 2**63 - 1
#: A row id in a path or query: 1 .. 2^63-1 (a larger one is a 422 naming the parameter).
RowId = Annotated[int, Field(ge=1, le=DB_INT_MAX)]
#: A paging offset: 0 .. 2^63-1.
Offset = Annotated[int, Field(ge=0, le=DB_INT_MAX)]

_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _iso_only(value: object) -> object:
    # pydantic reads a number (or a numeric string) as Unix seconds; a client sending
    # until=0.5 almost certainly meant something else, and the schema promises date-time.
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("expected a date and time in ISO 8601 (e.g. 2026-06-01T12:00:00Z)")
    return value


#: A time in a query: ISO 8601 only, never a bare number (UTC if no zone).
IsoTime = Annotated[datetime, BeforeValidator(_iso_only)]


def to_datetime(ts: float | None) -> datetime | None:
    """Epoch seconds -> aware UTC datetime (None stays None)."""
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC)


def to_epoch(value: datetime | None) -> float | None:
    """Datetime -> epoch seconds; a naive datetime is taken as UTC."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def snapshot_url(event_id: int, kind: SnapshotKind | None = None, *, clean: bool = False) -> str:
    """Path of an event's snapshot JPEG, relative to the server root."""
    query = [f"kind={kind.value}"] if kind else []
    if clean:
        query.append("clean=1")
    return f"{EVENTS_PATH}/{event_id}/snapshot.jpg" + ("?" + "&".join(query) if query else "")


class Error(BaseModel):
    detail: str = Field(description="What went wrong, naming the resource or field at fault.")


class ValidationErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class InvalidRequest(Error):
    errors: list[ValidationErrorItem] = Field(description="One entry per invalid field.")


def field_error(field: str, msg: str) -> RequestValidationError:
    """A 422 naming ``body.<field>``, for what is checked after FastAPI parsed the body."""
    return RequestValidationError([{"loc": ["body", field], "msg": msg, "type": "value_error"}])


def responses(errors: Mapping[int, str], *, jpeg: bool = False) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` of a route: ``errors`` (code -> description, body :class:`Error`),
    our 422 body instead of FastAPI's, and with ``jpeg`` a 200 of type image/jpeg."""
    out: dict[int | str, dict[str, Any]] = {}
    if jpeg:
        out[200] = {"content": {"image/jpeg": {}}, "description": "The JPEG."}
    for code, text in errors.items():
        out[code] = {"model": Error, "description": text}
    out[422] = {"model": InvalidRequest, "description": "A parameter or the body is invalid."}
    return out
