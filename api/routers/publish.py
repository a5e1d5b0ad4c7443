"""Publishing events to departments, delivery status, signed snapshots, event locations and
the map (acknowledgements: :mod:`api.routers.acks`).

Signed snapshot links need no account: departments hold unguessable links instead.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status

from alerts.departments import DepartmentNotFound
from alerts.mapsvg import render_map
from alerts.payload import SIGNED_SNAPSHOT_PATH
from alerts.service import (
    DepartmentDisabled,
    EventNotConfirmed,
    NoDepartments,
    PublishRequest,
)
from alerts.signing import SIGNATURE_PATTERN
from api.auth import AUTH_RESPONSES, RequireOperator, RequireViewer
from api.deps import PublishDep, StoreDep
from api.schemas.common import DB_INT_MAX, EVENTS_PATH, RowId, responses
from api.schemas.publish import (
    DeliveryOut,
    DeliverySummaryOut,
    DepartmentChoice,
    EventDeliveries,
    LocationOut,
    PublicationOut,
    PublishIn,
)
from store.alert_tables import DeliveryStatus
from store.events import EventNotFound, EventStore, SnapshotNotFound

router = APIRouter(tags=["publishing"])

_NO_EVENT = {404: "No such event."}


@router.post(
    EVENTS_PATH + "/{event_id}/publish",
    summary="Publish a confirmed event to departments",
    status_code=status.HTTP_202_ACCEPTED,
    responses=AUTH_RESPONSES
    | responses(
        {
            404: "No such event, or no such department.",
            409: "The event is not confirmed, a department is disabled, or none is enabled.",
        }
    ),
)
def publish_event(
    event_id: RowId, body: PublishIn, publish: PublishDep, user: RequireOperator
) -> PublicationOut:
    """Stores one delivery per department before anything is sent (202: accepted for
    delivery); follow them with ``GET /api/events/{id}/deliveries``."""
    request = PublishRequest(
        event_id=event_id,
        departments=None if body.departments == "all" else body.departments,
        message=body.message,
        publisher=user.name,
    )
    try:
        return PublicationOut.of(publish.service.publish(request))
    except (EventNotFound, DepartmentNotFound) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except (EventNotConfirmed, DepartmentDisabled, NoDepartments) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


def _require_event(store: EventStore, event_id: int) -> None:
    """404 unless the event exists."""
    try:
        store.get_event(event_id)
    except EventNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.get(
    EVENTS_PATH + "/{event_id}/deliveries",
    summary="Per-department delivery status of an event's alerts",
    responses=AUTH_RESPONSES | responses(_NO_EVENT),
)
def event_deliveries(
    event_id: RowId, store: StoreDep, publish: PublishDep, _user: RequireViewer
) -> EventDeliveries:
    _require_event(store, event_id)
    records = publish.outbox.for_event(event_id)
    return EventDeliveries(
        event_id=event_id,
        escalated=any(r.escalations > 0 for r in records),
        acknowledged=any(r.acknowledged_at is not None for r in records),
        deliveries=[DeliveryOut.of(r) for r in records],
    )


@router.get(
    EVENTS_PATH + "/{event_id}/location",
    summary="Bearing and estimated position of an event",
    responses=AUTH_RESPONSES | responses(_NO_EVENT),
)
def event_location(
    event_id: RowId, store: StoreDep, publish: PublishDep, _user: RequireViewer
) -> LocationOut:
    """Fields are null while unknown: no camera heading/FOV, or no second camera's fix."""
    _require_event(store, event_id)
    return LocationOut.of(event_id, publish.locations.get(event_id))


@router.get(
    "/api/publish/departments",
    summary="Departments to choose from when publishing (names only, no URLs or secrets)",
    responses=AUTH_RESPONSES,
)
def department_choices(publish: PublishDep, _user: RequireViewer) -> list[DepartmentChoice]:
    return [DepartmentChoice.of(d) for d in publish.departments.list_all()]


@router.get(
    "/api/publish/summary",
    summary="Delivery counts per status for several events (event lists)",
    responses=AUTH_RESPONSES | responses({}),
)
def delivery_summary(
    publish: PublishDep,
    _user: RequireViewer,
    event_id: Annotated[list[RowId], Query(max_length=500, description="Repeat for each event.")],
) -> list[DeliverySummaryOut]:
    """Events without any delivery are left out."""
    found = publish.outbox.summary(event_id)
    return [
        DeliverySummaryOut(
            event_id=s.event_id,
            counts={DeliveryStatus(k): v for k, v in s.by_status.items()},
            escalated=s.escalated,
        )
        for s in found.values()
    ]


@router.get(
    SIGNED_SNAPSHOT_PATH,
    summary="An event's snapshot through a signed, expiring link (from a payload)",
    response_class=Response,
    responses=responses({403: "Bad or expired signature.", 404: "No snapshot."}, jpeg=True),
)
def signed_snapshot(
    event_id: RowId,
    store: StoreDep,
    publish: PublishDep,
    expires: Annotated[int, Query(ge=0, le=DB_INT_MAX, description="Epoch seconds.")],
    sig: Annotated[str, Query(pattern=SIGNATURE_PATTERN, description="Lower-case hex HMAC.")],
) -> Response:
    if not publish.signer.valid(event_id, expires, sig, time.time()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the link is invalid or has expired")
    try:
        data = store.snapshot_path(event_id).read_bytes()
    except (EventNotFound, SnapshotNotFound, FileNotFoundError) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the snapshot is gone") from exc
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private"})


@router.get(
    "/api/map.svg",
    summary="Map of cameras, bearing rays and estimated positions (SVG, drawn locally)",
    response_class=Response,
    responses=AUTH_RESPONSES
    | responses({})
    | {200: {"content": {"image/svg+xml": {}}, "description": "The map."}},
)
def map_svg(
    publish: PublishDep,
    _user: RequireViewer,
    hours: Annotated[float, Query(gt=0, le=24 * 30, description="Events of the last N hours.")] = 6,
) -> Response:
    cameras = list(publish.cameras().values())
    located = publish.locations.recent(time.time() - hours * 3600.0)
    svg = render_map(cameras, located, max_ray_km=publish.locations.settings.max_distance_km)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-cache"})
