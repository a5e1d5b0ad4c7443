"""Events: list, detail, snapshot JPEGs, confirm and dismiss."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status

from api.auth import AUTH_RESPONSES, RequireOperator, require
from api.deps import EventPagesDep, StoreDep
from api.schemas.common import EVENTS_PATH, RowId, responses, to_epoch
from api.schemas.events import DecisionIn, EventDetail, EventOut, EventPage, EventQuery
from store.db import SnapshotKind
from store.events import (
    Decision,
    EventAlreadyDecided,
    EventFilter,
    EventNotFound,
    EventStore,
    SnapshotNotFound,
)
from store.roles import Role, User

# Reading needs the viewer role; deciding the operator role (checked per route).
router = APIRouter(
    prefix=EVENTS_PATH,
    tags=["events"],
    dependencies=[Depends(require(Role.VIEWER))],
    responses=AUTH_RESPONSES,
)

_NO_EVENT = {404: "No such event."}
_DECIDE = responses(
    {
        403: "The caller is not an operator, or a console request lacks its CSRF token.",
        404: "No such event.",
        409: "Already confirmed or dismissed.",
    }
)


@router.get(
    "", summary="List events, newest first", response_model=EventPage, responses=responses({})
)
def list_events(
    store: StoreDep, pages: EventPagesDep, query: Annotated[EventQuery, Query()]
) -> Response:
    """Events filtered by camera, class, status, start time and activity, with paging."""
    body = pages.get(query.model_dump_json(), lambda: _render_page(store, query))
    return Response(content=body, media_type="application/json")


def _render_page(store: EventStore, query: EventQuery) -> bytes:
    filters = EventFilter(
        camera=query.camera,
        cls=query.cls,
        status=query.status,
        since=to_epoch(query.since),
        until=to_epoch(query.until),
        active=query.active,
    )
    items, total = store.list_events(filters, limit=query.limit, offset=query.offset)
    page = EventPage(
        items=[EventOut.of(e) for e in items], total=total, limit=query.limit, offset=query.offset
    )
    return page.model_dump_json().encode()


@router.get(
    "/{event_id}",
    summary="One event with its snapshots and score timeline",
    responses=responses(_NO_EVENT),
)
def get_event(event_id: RowId, store: StoreDep) -> EventDetail:
    try:
        return EventDetail.of(store.get_event(event_id))
    except EventNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.get(
    "/{event_id}/snapshot.jpg",
    summary="An event's snapshot JPEG",
    response_class=Response,
    responses=responses({404: "No such event, or no such snapshot."}, jpeg=True),
)
def get_snapshot(
    event_id: RowId,
    store: StoreDep,
    request: Request,
    kind: Annotated[
        SnapshotKind | None,
        Query(
            description="opened: the frame that opened the event; peak (the default): the "
            "highest-scoring frame so far, which is the opened one until a higher score is seen."
        ),
    ] = None,
    clean: Annotated[bool, Query(description="1: the frame without drawn regions.")] = False,
) -> Response:
    try:
        path = store.snapshot_path(event_id, kind, clean=clean)
        data = path.read_bytes()
    except (EventNotFound, SnapshotNotFound) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except FileNotFoundError as exc:  # a peak replaced between lookup and read
        raise HTTPException(status.HTTP_404_NOT_FOUND, "snapshot was just replaced") from exc
    # Each file name is unique, so it is a strong validator; the peak URL changes content.
    etag = f'"{path.name}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(content=data, media_type="image/jpeg", headers=headers)


def _decide(
    store: StoreDep, event_id: int, action: Decision, body: DecisionIn, user: User
) -> EventDetail:
    try:
        return EventDetail.of(store.decide(event_id, action, user.name, body.note))
    except EventNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except EventAlreadyDecided as exc:
        when = exc.event.decided_at
        at = f" at {datetime.fromtimestamp(when, tz=UTC):%Y-%m-%dT%H:%M:%SZ}" if when else ""
        raise HTTPException(status.HTTP_409_CONFLICT, f"{exc}{at}") from exc


@router.post("/{event_id}/confirm", summary="Confirm an event as a real fire", responses=_DECIDE)
def confirm(
    event_id: RowId, body: DecisionIn, store: StoreDep, user: RequireOperator
) -> EventDetail:
    """Allowed once, while the event is open (also after its detection ended). The operator
    recorded is the logged-in user."""
    return _decide(store, event_id, Decision.CONFIRM, body, user)


@router.post("/{event_id}/dismiss", summary="Dismiss an event as a false alarm", responses=_DECIDE)
def dismiss(
    event_id: RowId, body: DecisionIn, store: StoreDep, user: RequireOperator
) -> EventDetail:
    """Allowed once, while the event is open (also after its detection ended). The operator
    recorded is the logged-in user."""
    return _decide(store, event_id, Decision.DISMISS, body, user)
