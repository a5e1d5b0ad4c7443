"""The alert payload, schema ``emberwatch.alert/1`` (documented in docs/alerts.md).

A publication stores the part shared by all departments (:func:`shared_payload`); each
delivery's body adds its own ``delivery`` object (:func:`render_body`). Rendering is
deterministic, so every retry of a delivery sends the same bytes with the same signature.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from alerts.locate import EventLocation
from alerts.signing import SnapshotSigner
from store.db import EventRecord
from streams.config import CameraConfig

SCHEMA = "emberwatch.alert/1"
SIGNED_SNAPSHOT_PATH = "/api/published/{event_id}/snapshot.jpg"


def iso(ts: float | None) -> str | None:
    """Epoch seconds -> ``2026-06-01T12:00:00.250000Z`` (None stays None)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class SnapshotLink:
    """A signed snapshot URL, its expiry (epoch s) and, when inlined, the JPEG bytes."""

    url: str
    expires_at: float
    jpeg: bytes | None = None


@dataclass(frozen=True, slots=True)
class PayloadInput:
    """Everything one publication says. ``camera`` None: the camera is no longer configured."""

    alert_id: str
    published_at: float
    publisher: str | None
    automatic: bool
    message: str
    event: EventRecord
    camera: CameraConfig | None
    location: EventLocation | None
    snapshot: SnapshotLink | None


def _event(ev: EventRecord) -> dict[str, Any]:
    return {
        "id": ev.id,
        "class": ev.cls,
        "status": ev.status.value,
        "started_at": iso(ev.started_at),
        "last_seen_at": iso(ev.last_seen_at),
        "ended_at": iso(ev.ended_at),
        "peak_score": round(ev.peak_score, 4),
        "decided_by": ev.operator,
        "decided_at": iso(ev.decided_at),
    }


def _camera(ev: EventRecord, cam: CameraConfig | None) -> dict[str, Any]:
    return {
        "id": ev.camera_id,
        "name": ev.camera_name,
        "latitude": cam.latitude if cam else None,
        "longitude": cam.longitude if cam else None,
        "heading_deg": cam.heading_deg if cam else None,
        "fov_deg": cam.fov_deg if cam else None,
    }


def _location(loc: EventLocation | None) -> dict[str, Any] | None:
    if loc is None or loc.latitude is None or loc.longitude is None:
        return None
    return {
        "latitude": round(loc.latitude, 6),
        "longitude": round(loc.longitude, 6),
        "method": "triangulation",
        "distance_km": None if loc.distance_km is None else round(loc.distance_km, 3),
        "paired_event_id": loc.paired_event_id,
    }


def _snapshot(snap: SnapshotLink | None) -> dict[str, Any] | None:
    if snap is None:
        return None
    inline = base64.b64encode(snap.jpeg).decode("ascii") if snap.jpeg is not None else None
    return {
        "url": snap.url,
        "expires_at": iso(snap.expires_at),
        "content_type": "image/jpeg",
        "jpeg_base64": inline,
    }


def shared_payload(inp: PayloadInput) -> dict[str, Any]:
    """The payload without ``delivery``: stored once per publication (JSON-compatible)."""
    return {
        "schema": SCHEMA,
        "alert_id": inp.alert_id,
        "published_at": iso(inp.published_at),
        "publisher": inp.publisher,
        "automatic": inp.automatic,
        "message": inp.message,
        "event": _event(inp.event),
        "camera": _camera(inp.event, inp.camera),
        "bearing_deg": None if inp.location is None else round(inp.location.bearing_deg, 2),
        "location": _location(inp.location),
        "snapshot": _snapshot(inp.snapshot),
    }


@dataclass(frozen=True, slots=True)
class DeliveryInfo:
    """The per-department part of a body."""

    delivery_id: str
    department: str
    ack_url: str
    escalation: int


def render_body(shared: Mapping[str, Any], info: DeliveryInfo) -> bytes:
    """The exact bytes POSTed (UTF-8 JSON, compact); the signature covers these bytes."""
    body = dict(shared)
    body["delivery"] = {
        "id": info.delivery_id,
        "department": info.department,
        "ack_url": info.ack_url,
        "escalation": info.escalation,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True, slots=True)
class Links:
    """Absolute links put into payloads, under the server's public base URL."""

    base_url: str
    signer: SnapshotSigner

    def ack_url(self, token: str) -> str:
        return f"{self.base_url}/api/acks/{token}"

    def snapshot_url(self, event_id: int, expires: int) -> str:
        query = self.signer.query(event_id, expires)
        return f"{self.base_url}{SIGNED_SNAPSHOT_PATH.format(event_id=event_id)}?{query}"
