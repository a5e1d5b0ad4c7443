"""Request and response bodies of the publish, delivery and ack endpoints (departments:
:mod:`api.schemas.departments`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from alerts.departments import Department
from alerts.locate import EventLocation
from alerts.records import DeliveryRecord, PublicationRecord
from api.schemas.common import to_datetime
from store.alert_tables import DeliveryStatus


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DepartmentChoice(BaseModel):
    """What operators see of a department when choosing recipients."""

    id: int
    name: str
    enabled: bool
    escalation_minutes: float | None
    automatic: bool = Field(description="An automatic publishing policy is set.")

    @classmethod
    def of(cls, dep: Department) -> DepartmentChoice:
        return cls(
            id=dep.id,
            name=dep.name,
            enabled=dep.enabled,
            escalation_minutes=dep.escalation_minutes,
            automatic=dep.auto.enabled,
        )


class DeliverySummaryOut(BaseModel):
    event_id: int
    counts: dict[DeliveryStatus, int] = Field(description="Deliveries per status (only >0).")
    escalated: bool


class PublishIn(_In):
    """Body of ``POST /api/events/{id}/publish``."""

    departments: list[int] | Literal["all"] = Field(
        description='Department ids, or "all" for every enabled department.'
    )
    message: str = Field("", max_length=2000, description="The operator's words to departments.")


class DeliveryOut(BaseModel):
    id: str = Field(description="Delivery id: X-Emberwatch-Delivery and Idempotency-Key.")
    alert_id: str = Field(description="The publication (alert_id in the payload).")
    department_id: int | None = Field(description="null once the department was deleted.")
    department: str
    status: DeliveryStatus
    automatic: bool = Field(description="Sent by an automatic publishing policy.")
    publisher: str | None = Field(description="Who published; null for automatic alerts.")
    attempts: int
    last_error: str | None = Field(description="Why the last attempt failed.")
    last_status_code: int | None
    next_attempt_at: AwareDatetime | None = Field(description="Next try while pending.")
    last_attempt_at: AwareDatetime | None
    delivered_at: AwareDatetime | None
    acknowledged_at: AwareDatetime | None
    escalations: int = Field(description="Re-sends because no ack came in time.")
    escalated: bool
    created_at: AwareDatetime

    @classmethod
    def of(cls, rec: DeliveryRecord) -> DeliveryOut:
        return cls.model_validate(
            {
                "id": rec.uid,
                "alert_id": rec.publication_uid,
                "department_id": rec.department_id,
                "department": rec.department_name,
                "status": rec.status,
                "automatic": rec.automatic,
                "publisher": rec.publisher,
                "attempts": rec.attempts,
                "last_error": rec.last_error,
                "last_status_code": rec.last_status_code,
                "next_attempt_at": to_datetime(rec.next_attempt_at),
                "last_attempt_at": to_datetime(rec.last_attempt_at),
                "delivered_at": to_datetime(rec.delivered_at),
                "acknowledged_at": to_datetime(rec.acknowledged_at),
                "escalations": rec.escalations,
                "escalated": rec.escalations > 0,
                "created_at": to_datetime(rec.created_at),
            }
        )


class PublicationOut(BaseModel):
    alert_id: str
    event_id: int
    publisher: str | None
    automatic: bool
    message: str
    created_at: AwareDatetime
    deliveries: list[DeliveryOut]

    @classmethod
    def of(cls, pub: PublicationRecord) -> PublicationOut:
        return cls(
            alert_id=pub.uid,
            event_id=pub.event_id,
            publisher=pub.publisher,
            automatic=pub.automatic,
            message=pub.message,
            created_at=_at(pub.created_at),
            deliveries=[DeliveryOut.of(d) for d in pub.deliveries],
        )


class EventDeliveries(BaseModel):
    event_id: int
    escalated: bool = Field(description="Some department did not acknowledge in time.")
    acknowledged: bool = Field(description="At least one department acknowledged.")
    deliveries: list[DeliveryOut] = Field(description="Oldest first.")


class AckOut(BaseModel):
    delivery_id: str
    event_id: int
    department: str
    acknowledged_at: AwareDatetime


class LocationOut(BaseModel):
    event_id: int
    bearing_deg: float | None = Field(description="Degrees clockwise from north; null: unknown.")
    latitude: float | None = Field(description="Estimated position (two-camera fix).")
    longitude: float | None
    paired_event_id: int | None = Field(description="The other camera's event of the fix.")
    distance_km: float | None = Field(description="From this event's camera to the position.")

    @classmethod
    def of(cls, event_id: int, loc: EventLocation | None) -> LocationOut:
        if loc is None:
            return cls(
                event_id=event_id,
                bearing_deg=None,
                latitude=None,
                longitude=None,
                paired_event_id=None,
                distance_km=None,
            )
        return cls(
            event_id=event_id,
            bearing_deg=loc.bearing_deg,
            latitude=loc.latitude,
            longitude=loc.longitude,
            paired_event_id=loc.paired_event_id,
            distance_km=loc.distance_km,
        )
