"""Frozen views of publications and deliveries, handed out instead of ORM rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from alerts.template import WebhookTemplate
from store.alert_tables import (
    DeliveryRow,
    DeliveryStatus,
    DepartmentRow,
    PublicationRow,
    WebhookFormat,
    split_addresses,
)


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One department's copy of one publication. Times are epoch seconds (UTC)."""

    id: int
    uid: str
    publication_uid: str
    event_id: int
    department_id: int | None  # None once the department was deleted
    department_name: str
    publisher: str | None
    automatic: bool
    status: DeliveryStatus
    attempts: int
    next_attempt_at: float | None
    last_attempt_at: float | None
    last_error: str | None
    last_status_code: int | None
    delivered_at: float | None
    acknowledged_at: float | None
    escalations: int
    escalated_at: float | None
    created_at: float


def delivery_record(row: DeliveryRow, pub: PublicationRow) -> DeliveryRecord:
    return DeliveryRecord(
        id=row.id,
        uid=row.uid,
        publication_uid=pub.uid,
        event_id=row.event_id,
        department_id=row.department_id,
        department_name=row.department_name,
        publisher=pub.publisher,
        automatic=row.automatic,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_attempt_at=row.last_attempt_at,
        last_error=row.last_error,
        last_status_code=row.last_status_code,
        delivered_at=row.delivered_at,
        acknowledged_at=row.acknowledged_at,
        escalations=row.escalations,
        escalated_at=row.escalated_at,
        created_at=row.created_at,
    )


@dataclass(frozen=True, slots=True)
class PublicationRecord:
    id: int
    uid: str
    event_id: int
    publisher: str | None
    automatic: bool
    message: str
    created_at: float
    deliveries: tuple[DeliveryRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """What the sender needs for one attempt: the target, the secret and the payload."""

    id: int
    uid: str
    event_id: int
    department_name: str
    url: str | None  # the webhook, or None for an e-mail or MQTT department
    secret: str = field(repr=False)
    ack_token: str = field(repr=False)
    attempts: int
    escalations: int
    payload: Mapping[str, Any] = field(repr=False)
    due_at: float | None = None  # its next_attempt_at when read (claims compare it)
    email_to: tuple[str, ...] = ()
    mqtt_topic: str | None = None
    webhook_format: WebhookFormat = WebhookFormat.EMBERWATCH
    template: WebhookTemplate | None = field(default=None, repr=False)

    @classmethod
    def of(cls, row: DeliveryRow, dep: DepartmentRow, pub: PublicationRow) -> DueDelivery:
        return cls(
            id=row.id,
            uid=row.uid,
            event_id=row.event_id,
            department_name=row.department_name,
            url=dep.webhook_url,
            secret=dep.secret,
            ack_token=row.ack_token,
            attempts=row.attempts,
            escalations=row.escalations,
            payload=pub.payload,
            due_at=row.next_attempt_at,
            email_to=split_addresses(dep.email_to),
            mqtt_topic=dep.mqtt_topic,
            webhook_format=WebhookFormat(dep.webhook_format),
            template=WebhookTemplate.load(dep.webhook_template),
        )

    @property
    def idempotency_key(self) -> str:
        """The delivery id; an escalation's re-send is a new message, so it gets its own."""
        return self.uid if self.escalations == 0 else f"{self.uid}.{self.escalations}"


@dataclass(frozen=True, slots=True)
class DeliverySummary:
    """An event's deliveries counted by status (only statuses that occur are present)."""

    event_id: int
    by_status: Mapping[str, int]
    escalated: bool
