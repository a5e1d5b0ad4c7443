"""Publishing an event: checks, the payload, and the outbox write (nothing is sent here)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from alerts.departments import Department, DepartmentStore
from alerts.locate import CameraLookup, LocationStore
from alerts.outbox import NewPublication, Outbox, new_uid
from alerts.payload import Links, PayloadInput, SnapshotLink, shared_payload
from alerts.records import PublicationRecord
from service.alert_config import PublishConfig
from store.db import EventRecord, EventStatus
from store.events import EventStore, SnapshotNotFound

log = logging.getLogger(__name__)


class PublishError(Exception):
    """Base of the typed errors of a publish request."""


class EventNotConfirmed(PublishError):
    def __init__(self, event: EventRecord) -> None:
        super().__init__(
            f"event {event.id} is {event.status.value}; only confirmed events are published"
        )


class NoDepartments(PublishError):
    """Nothing to publish to: no enabled department, or an empty selection."""


class DepartmentDisabled(PublishError):
    def __init__(self, department: Department) -> None:
        super().__init__(f"department {department.id} ({department.name}) is disabled")


@dataclass(frozen=True, slots=True)
class PublishRequest:
    """``departments`` None: every enabled department."""

    event_id: int
    departments: Sequence[int] | None
    message: str = ""
    publisher: str | None = None
    automatic: bool = False
    require_confirmed: bool = True


class PublishService:
    """Turns a publish request into a stored publication with one delivery per department.

    ``on_enqueued`` is called after the outbox commit (the sender's wake-up).
    """

    def __init__(
        self,
        *,
        events: EventStore,
        departments: DepartmentStore,
        outbox: Outbox,
        locations: LocationStore,
        links: Links,
        settings: PublishConfig,
        cameras: CameraLookup,
        on_enqueued: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.events, self.departments, self.outbox = events, departments, outbox
        self.locations, self.links, self.settings = locations, links, settings
        self._cameras, self._on_enqueued, self._clock = cameras, on_enqueued, clock

    def publish(self, req: PublishRequest) -> PublicationRecord:
        """Store the publication before anything is sent, then wake the sender.

        Raises:
            store.events.EventNotFound: no such event.
            EventNotConfirmed: the event is not confirmed and ``require_confirmed``.
            alerts.departments.DepartmentNotFound: an unknown department id.
            DepartmentDisabled: a selected department is disabled.
            NoDepartments: nothing to publish to.
        """
        event = self.events.get_event(req.event_id)
        if req.require_confirmed and event.status is not EventStatus.CONFIRMED:
            raise EventNotConfirmed(event)
        targets = self._targets(req.departments)
        uid, now = new_uid(), self._clock()
        pub = NewPublication(
            uid=uid,
            event_id=event.id,
            publisher=req.publisher,
            automatic=req.automatic,
            message=req.message,
            payload=shared_payload(self._input(uid, event, req, now)),
        )
        record = self.outbox.enqueue(pub, targets)
        log.info(
            "event %d: published to %s by %s",
            event.id,
            ", ".join(d.name for d in targets),
            "the automatic policy" if req.automatic else req.publisher,
        )
        self._on_enqueued()
        return record

    def _targets(self, ids: Sequence[int] | None) -> list[Department]:
        if ids is None:
            targets = self.departments.list_all(enabled_only=True)
            if not targets:
                raise NoDepartments("there is no enabled department to publish to")
            return targets
        if not ids:
            raise NoDepartments("no department was selected")
        targets = self.departments.many(ids)
        for dep in targets:
            if not dep.enabled:
                raise DepartmentDisabled(dep)
        return targets

    def _input(self, uid: str, event: EventRecord, req: PublishRequest, now: float) -> PayloadInput:
        return PayloadInput(
            alert_id=uid,
            published_at=now,
            publisher=req.publisher,
            automatic=req.automatic,
            message=req.message,
            event=event,
            camera=self._cameras().get(event.camera_id),
            location=self.locations.get(event.id),
            snapshot=self._snapshot(event.id, now),
        )

    def _snapshot(self, event_id: int, now: float) -> SnapshotLink | None:
        try:
            path = self.events.snapshot_path(event_id)
            jpeg = path.read_bytes() if self.settings.inline_snapshot else None
        except (SnapshotNotFound, FileNotFoundError):
            return None
        expires = int(now + self.settings.snapshot_url_ttl_s)
        return SnapshotLink(self.links.snapshot_url(event_id, expires), float(expires), jpeg)
