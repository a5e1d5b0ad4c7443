"""Exports: the filters of the event history in CSV (those of ``GET /api/events``, no paging)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.common import IsoTime, to_epoch
from store.db import EventStatus
from store.events import EventFilter


class ExportQuery(BaseModel):
    """The filters of ``GET /api/events``, without paging."""

    camera: str | None = Field(None, description="Camera id.")
    cls: str | None = Field(None, description="Class, e.g. smoke.")
    status: EventStatus | None = None
    since: IsoTime | None = Field(None, description="Started at or after (UTC if no zone).")
    until: IsoTime | None = Field(None, description="Started before (UTC if no zone).")
    active: bool | None = None

    def filters(self) -> EventFilter:
        return EventFilter(
            camera=self.camera,
            cls=self.cls,
            status=self.status,
            since=to_epoch(self.since),
            until=to_epoch(self.until),
            active=self.active,
        )
