"""Every API replica's live feed shows what any replica committed.

A replica tells the others of each change it committed (a transition it recorded, an operator's
decision) on a plain subject; the others hand it to their store's view listeners only, so the
consoles connected to them update at once and nothing that acts on changes (automatic alerts)
runs twice. A change missed while the bus was away is seen when the console reloads its list.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from store.events import EventChange

log = logging.getLogger(__name__)
SUBJECT = "ember.changes"


def encode_change(change: EventChange, origin: str) -> bytes:
    body = {"origin": origin, "event_id": change.event_id, "camera_id": change.camera_id,
            "cls": change.cls, "change": str(change.change)}  # fmt: skip
    return json.dumps(body).encode()


def decode_change(data: bytes, origin: str) -> EventChange | None:
    """The change another replica announced; None for this replica's own or an unreadable one."""
    try:
        body: dict[str, Any] = json.loads(data)
        if body["origin"] == origin:
            return None
        return EventChange(
            int(body["event_id"]), str(body["camera_id"]), str(body["cls"]), str(body["change"])
        )
    except (ValueError, KeyError, TypeError):
        log.warning("bus: unreadable change announcement ignored")
        return None
