"""Request and response bodies of the HTTP API (pydantic), separate from the stored rows.

All times are time-zone-aware UTC datetimes (ISO 8601 with ``Z``). Boxes are
``[x0, y0, x1, y1]`` normalised to 0..1 of the frame width and height, origin top-left.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi.exceptions import RequestValidationError
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from detector.types import Reason, Region
from store.db import EventRecord, EventStatus, ScorePoint, SnapshotKind, SnapshotRecord

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


class CameraCounters(BaseModel):
    decoded: int = Field(description="Frames produced by the decoder.")
    sampled: int = Field(description="Frames taken for analysis.")
    dropped: int = Field(description="Sampled frames replaced before analysis.")
    analysed: int = Field(description="Frames scored by the model.")
    reconnects: int


class LookAlikeOut(BaseModel):
    cls: str
    box: Box = Field(description="x0, y0, x1, y1 in 0..1.")


class CameraOut(BaseModel):
    id: str
    name: str
    url: str = Field(description="Stream URL with credentials masked.")
    enabled: bool
    state: str = Field(description="connecting, streaming, backoff or stopped.")
    counters: CameraCounters
    interval_s: float = Field(description="Analysis interval.")
    keyframes_only: bool
    fps: float | None
    gop_s: float | None = Field(description="Measured keyframe interval.")
    last_frame_at: AwareDatetime | None
    last_frame_age_s: float | None
    lag_s: float | None = Field(description="Age of the last analysed frame when scored.")
    analysis_age_s: float | None = Field(
        None, description="Seconds since the camera's last analysed frame."
    )
    behind: bool = Field(
        False,
        description="True while the camera streams but was not analysed for more than twice "
        "its interval: the detector cannot keep up (overload).",
    )
    last_error: str | None
    scores: dict[str, float] = Field(description="Latest raw model score per class.")
    thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="Opening threshold per class in force: the model's, or the camera's own "
        "(`thresholds` in its configuration); empty while the camera is not analysed.",
    )
    model: str | None = Field(
        None,
        description="Name of the model that scores the camera (its model.yaml `name`; "
        "`demo-plume` in demo mode); null while the camera is not analysed (disabled).",
    )
    latitude: float | None
    longitude: float | None
    heading_deg: float | None
    fov_deg: float | None
    masks: list[list[tuple[float, float]]] = Field(description="Ignored polygons, 0..1.")
    focus: bool = Field(
        True,
        description="Whether the camera's frames get focus crops where its view changed (when "
        "the model has them; `focus` in its configuration).",
    )
    look_alikes: list[LookAlikeOut] = Field(
        default_factory=list,
        description="Regions that have scored above threshold for a long time without an event "
        "(`smoothing.look_alike_s`): likely look-alikes (fog, chimney, glare), mask candidates.",
    )
    muted_regions: int = Field(
        0,
        description="Regions muted by dismissals and not lifted (`GET /api/mutes?camera=`): "
        "inside them the camera alerts only on evidence that grows beyond or rises above them.",
    )
    latest_url: str
    worker: str | None = Field(
        None,
        description="With workers on a bus (`serve --bus`): the worker that holds the camera; "
        "null on a single node.",
    )
    held_since: AwareDatetime | None = Field(
        None, description="When that worker took the camera (`serve --bus`)."
    )
    handover: bool = Field(
        False,
        description="True while no worker reports on the camera: its worker stopped and another "
        "takes it over (`serve --bus`).",
    )


class HealthReasonOut(BaseModel):
    code: Literal[
        "storage_failing",
        "storage_low",
        "thread_stalled",
        "thread_failing",
        "recorder_backlog",
        "cameras_failing",
    ] = Field(description="What is wrong, for monitoring rules and the console.")
    detail: str = Field(description="Which thread, how many cameras or transitions (English).")


class RecorderOut(BaseModel):
    depth: int = Field(description="Event transitions waiting to be stored.")
    capacity: int = Field(description="Transitions queued before plain score points give way.")
    dropped: int = Field(description="Plain score points dropped so far (never an event's "
                         "opening, closing or peak).")  # fmt: skip
    oldest_age_s: float | None = Field(description="How long the oldest waiting one waited.")


class HealthOut(BaseModel):
    status: Literal["ok", "degraded", "error"] = Field(
        description='"degraded" (HTTP 200): the service runs, but something in `reasons` is '
        'wrong; "error" (HTTP 503): the database is unreachable.'
    )
    reasons: list[HealthReasonOut] = Field(
        default_factory=list, description="Why the service is degraded; empty when ok."
    )
    recorder: RecorderOut | None = Field(
        None, description="The backlog of event transitions waiting to be stored."
    )
    database: str = Field(description='"ok", or what is wrong with it.')
    cameras: dict[str, int] = Field(description="Number of cameras in each stream state.")
    storage: Literal["ok", "low", "failing"] = Field(
        "ok",
        description='Event and snapshot writes: "failing" since a write failed (disk full, '
        'read-only...) until one succeeds again, "low" under 5 % free space (at most 100 MiB).',
    )
    free_bytes: int | None = Field(
        None, description="Free space left for the database and snapshots (the least of both)."
    )
