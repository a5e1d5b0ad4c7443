"""Events: one detection from its opening to the operator's decision, its snapshots and score
timeline, the list's filters and paging, and the body of confirm and dismiss."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from api.schemas.common import Box, IsoTime, Offset, snapshot_url, to_datetime
from detector.types import Reason, Region
from store.db import EventRecord, EventStatus, ScorePoint, SnapshotKind, SnapshotRecord


class RegionOut(BaseModel):
    cls: str
    score: float = Field(ge=0, le=1)
    box: Box = Field(description="x0, y0, x1, y1 in 0..1.")

    @classmethod
    def of(cls, region: Region) -> RegionOut:
        return cls(cls=region.cls, score=region.score, box=region.box)


class SnapshotOut(BaseModel):
    kind: SnapshotKind
    ts: AwareDatetime = Field(description="Capture time of the frame.")
    score: float = Field(description="Smoothed score when the snapshot was taken.")
    width: int
    height: int
    regions: list[RegionOut] = Field(description="The regions drawn on the annotated copy.")
    url: str = Field(description="Annotated JPEG.")
    clean_url: str = Field(description="The same frame without drawings.")

    @classmethod
    def of(cls, event_id: int, snap: SnapshotRecord) -> SnapshotOut:
        return cls(
            kind=snap.kind,
            ts=datetime.fromtimestamp(snap.ts, tz=UTC),
            score=snap.score,
            width=snap.width,
            height=snap.height,
            regions=[RegionOut.of(r) for r in snap.regions],
            url=snapshot_url(event_id, snap.kind),
            clean_url=snapshot_url(event_id, snap.kind, clean=True),
        )


class ScorePointOut(BaseModel):
    ts: AwareDatetime
    score: float

    @classmethod
    def of(cls, point: ScorePoint) -> ScorePointOut:
        return cls(ts=datetime.fromtimestamp(point.ts, tz=UTC), score=point.score)


class EventOut(BaseModel):
    id: int
    camera_id: str
    camera_name: str
    cls: str = Field(description="Detected class, e.g. smoke or flame.")
    status: EventStatus = Field(description="open until an operator confirms or dismisses it.")
    active: bool = Field(description="True while the detection continues (ended_at is null).")
    started_at: AwareDatetime
    last_seen_at: AwareDatetime = Field(
        description="Last time the detection was seen (refreshed at least every "
        "smoothing.keepalive_s while it holds)."
    )
    ended_at: AwareDatetime | None
    duration_s: float = Field(description="From start to end, or to last seen while active.")
    peak_score: float
    last_score: float
    regions: list[RegionOut] = Field(description="Regions at the last update that had any.")
    box: Box | None = Field(
        description="The region of the view this event is about (x0, y0, x1, y1 in 0..1); a "
        "camera may have several events of one class at once, each in its own region."
    )
    parent_id: int | None = Field(
        description="The event this one continues (its region grew or its evidence rose) or "
        "re-alerts (it outgrew a dismissed event's muted region)."
    )
    parent_status: EventStatus | None = Field(
        description="The status of the parent event: `dismissed` for a re-alert."
    )
    reason: Reason = Field(
        description="Why it opened beyond its evidence crossing the threshold: `grew`, `rose`, "
        "`grew since dismissed`, `rose since dismissed`, or empty."
    )
    operator: str | None
    note: str | None
    decided_at: AwareDatetime | None
    created_at: AwareDatetime
    snapshot_url: str | None = Field(description="Peak snapshot if any, else the opening one.")

    @classmethod
    def fields_of(cls, ev: EventRecord) -> dict[str, object]:
        default = ev.snapshot()
        return {
            "id": ev.id,
            "camera_id": ev.camera_id,
            "camera_name": ev.camera_name,
            "cls": ev.cls,
            "status": ev.status,
            "active": ev.active,
            "started_at": to_datetime(ev.started_at),
            "last_seen_at": to_datetime(ev.last_seen_at),
            "ended_at": to_datetime(ev.ended_at),
            "duration_s": max(0.0, (ev.ended_at or ev.last_seen_at) - ev.started_at),
            "peak_score": ev.peak_score,
            "last_score": ev.last_score,
            "regions": [RegionOut.of(r) for r in ev.regions],
            "box": ev.box,
            "parent_id": ev.parent_id,
            "parent_status": ev.parent_status,
            "reason": ev.reason,
            "operator": ev.operator,
            "note": ev.note,
            "decided_at": to_datetime(ev.decided_at),
            "created_at": to_datetime(ev.created_at),
            "snapshot_url": snapshot_url(ev.id, default.kind) if default else None,
        }

    @classmethod
    def of(cls, ev: EventRecord) -> EventOut:
        return cls.model_validate(cls.fields_of(ev))


class EventDetail(EventOut):
    snapshots: list[SnapshotOut]
    timeline: list[ScorePointOut] = Field(description="Smoothed score at each stored update.")

    @classmethod
    def of(cls, ev: EventRecord) -> EventDetail:
        return cls.model_validate(
            cls.fields_of(ev)
            | {
                "snapshots": [SnapshotOut.of(ev.id, s) for s in ev.snapshots],
                "timeline": [ScorePointOut.of(p) for p in ev.timeline],
            }
        )


class EventPage(BaseModel):
    items: list[EventOut]
    total: int = Field(description="Events matching the filters, before paging.")
    limit: int
    offset: int


class EventQuery(BaseModel):
    """Filters and paging of ``GET /api/events``."""

    camera: str | None = Field(None, description="Camera id.")
    cls: str | None = Field(None, description="Class, e.g. smoke.")
    status: EventStatus | None = None
    since: IsoTime | None = Field(None, description="Started at or after (UTC if no zone).")
    until: IsoTime | None = Field(None, description="Started before (UTC if no zone).")
    active: bool | None = Field(None, description="true: still active; false: ended.")
    limit: int = Field(50, ge=1, le=500)
    offset: Offset = 0


Operator = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class DecisionIn(BaseModel):
    """Body of confirm and dismiss."""

    model_config = ConfigDict(extra="forbid")

    operator: Operator | None = Field(
        None,
        deprecated=True,
        description="Ignored: the operator recorded is the authenticated user. Accepted so "
        "that clients written before accounts existed keep working.",
    )
    note: str = Field("", max_length=2000, description="Free text kept with the decision.")
