"""Tables of departments, publications, the delivery outbox and event locations.

They share :class:`store.db.Base`, so :func:`store.db.init_db` creates them; they are new tables
(the ``events`` table keeps its shape), so an existing database gains them on the next start.
Times are epoch seconds (UTC) like every other table.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Double, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.db import Base
from store.sealing import SealedJSON, SealedText


class DeliveryStatus(StrEnum):
    """Where one department's copy of an alert stands."""

    QUEUED = "queued"  # stored, not sent yet (or re-queued by an escalation)
    DELIVERED = "delivered"  # the webhook answered 2xx
    FAILING = "failing"  # the last attempt failed; retried at next_attempt_at
    ACKNOWLEDGED = "acknowledged"  # the department acknowledged it (final)
    CANCELLED = "cancelled"  # the department was deleted before delivery (final)


PENDING = (DeliveryStatus.QUEUED, DeliveryStatus.FAILING)


class WebhookFormat(StrEnum):
    """What a webhook department receives at its URL."""

    EMBERWATCH = "emberwatch"  # the signed emberwatch.alert/1 JSON
    DINGTALK = "dingtalk"  # a DingTalk group robot (markdown, signed query)
    WECOM = "wecom"  # a WeCom group robot (markdown; the key in the URL)
    FEISHU = "feishu"  # a Feishu (Lark) custom bot (card, signed body)
    TEMPLATE = "template"  # the department's own URL and body template (SMS gateways)


# VARCHAR + CHECK like the events table: portable, and a new value needs no ALTER TYPE.
_STATUS = Enum(
    DeliveryStatus,
    native_enum=False,
    length=16,
    values_callable=lambda members: [m.value for m in members],
    validate_strings=True,
)


def split_addresses(text: str | None) -> tuple[str, ...]:
    """``email_to`` as stored (``"a@x, b@y"``) -> ``("a@x", "b@y")``; None -> ``()``."""
    return tuple(a.strip() for a in (text or "").split(",") if a.strip())


class DepartmentRow(Base):
    """A recipient of alerts, signed with the department's own secret, on one channel: a
    webhook, e-mail to one or more addresses, or an MQTT topic (exactly one of ``webhook_url``,
    ``email_to`` and ``mqtt_topic`` is set). A webhook's ``webhook_format`` says what it gets;
    ``secret`` is empty for formats that sign nothing (WeCom, templates)."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    webhook_url: Mapped[str | None] = mapped_column(SealedText, nullable=True)  # may hold a key
    email_to: Mapped[str | None] = mapped_column(String(2000), nullable=True)  # comma-separated
    mqtt_topic: Mapped[str | None] = mapped_column(String(500), nullable=True)
    webhook_format: Mapped[str] = mapped_column(
        String(16), default=WebhookFormat.EMBERWATCH.value, server_default="emberwatch"
    )
    # The method, content type, headers and body template of a "template" webhook; its
    # headers may carry a gateway's API key, so it is sealed like the URL and the secret.
    webhook_template: Mapped[dict[str, Any] | None] = mapped_column(SealedJSON, nullable=True)
    secret: Mapped[str] = mapped_column(SealedText)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Re-send an alert not acknowledged this many minutes after delivery; None: never.
    escalation_minutes: Mapped[float | None] = mapped_column(Double, nullable=True)
    # Automatic publishing; no classes means never. No cameras means any camera.
    auto_classes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    auto_cameras: Mapped[list[Any]] = mapped_column(JSON, default=list)
    auto_min_score: Mapped[float] = mapped_column(Double, default=0.0)
    # False: automatic alerts only once an operator confirmed the event.
    auto_unconfirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[float] = mapped_column(Double)


class PublicationRow(Base):
    """One publish action: an event, who published it, the message, the shared payload."""

    __tablename__ = "publications"
    __table_args__ = (Index("ix_publications_event", "event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    publisher: Mapped[str | None] = mapped_column(String(100), nullable=True)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[float] = mapped_column(Double)
    # The payload without the per-delivery fields (see alerts.payload.render_body).
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class DeliveryRow(Base):
    """The outbox: one row per (publication, department), written before anything is sent."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_deliveries_event", "event_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(Integer)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), nullable=True
    )
    # Copied so the history still names a department deleted later.
    department_name: Mapped[str] = mapped_column(String(100))
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[DeliveryStatus] = mapped_column(_STATUS)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    last_attempt_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    delivered_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    ack_token: Mapped[str] = mapped_column(String(64), unique=True)
    acknowledged_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    escalated_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    created_at: Mapped[float] = mapped_column(Double)


class EventLocationRow(Base):
    """Bearing of an event's region and, once paired with another camera, the fix."""

    __tablename__ = "event_locations"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    camera_id: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[float] = mapped_column(Double, index=True)
    bearing_deg: Mapped[float] = mapped_column(Double)
    latitude: Mapped[float | None] = mapped_column(Double, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Double, nullable=True)
    paired_event_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    distance_km: Mapped[float | None] = mapped_column(Double, nullable=True)
    updated_at: Mapped[float] = mapped_column(Double)
