"""Muted regions: what a dismissal muted, and whether it was lifted."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, Field

from api.schemas.common import Box, to_datetime
from store.mutes import MuteRecord


class MuteOut(BaseModel):
    id: int
    camera_id: str
    cls: str = Field(description="The class muted in the region, e.g. smoke.")
    box: Box = Field(description="The muted region, x0, y0, x1, y1 in 0..1 of the frame.")
    level: float = Field(
        description="The dismissed event's peak smoothed score. Inside the region only evidence "
        "clearly above this level (which decays over hours) or spreading beyond the region "
        "alerts, as a new event linked to the dismissed one."
    )
    event_id: int = Field(description="The dismissed event that muted the region.")
    created_at: AwareDatetime = Field(description="When the event was dismissed.")
    created_by: str = Field(description="Who dismissed it.")
    fades_at: AwareDatetime | None = Field(
        description="When its decaying level stops mattering and it is no longer in force "
        "(null: never)."
    )
    lifted_at: AwareDatetime | None
    lifted_by: str | None

    @classmethod
    def of(cls, mute: MuteRecord, half_life_s: float | None) -> MuteOut:
        return cls(
            id=mute.id,
            camera_id=mute.camera_id,
            cls=mute.cls,
            box=mute.box,
            level=mute.level,
            event_id=mute.event_id,
            created_at=datetime.fromtimestamp(mute.created_at, tz=UTC),
            created_by=mute.created_by,
            fades_at=to_datetime(mute.fades_at(half_life_s)),
            lifted_at=to_datetime(mute.lifted_at),
            lifted_by=mute.lifted_by,
        )
