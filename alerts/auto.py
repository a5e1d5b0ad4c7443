"""Reactions to stored event changes: bearing/location, then automatic publishing.

:class:`EventReactor` is registered with :meth:`store.events.EventStore.add_listener`. The store
calls listeners on the writing thread (the event recorder, or an HTTP worker), so the
listener only queues the change; one background thread handles changes in order, which also
makes "at most one automatic alert per event and department" race-free. An unexpected error
while handling a change is logged with its event and counted (``alert_policy`` in
``emberwatch_thread_errors_total``); the thread goes on with the next change.

Policy (per department, off by default, see :class:`alerts.departments.AutoPolicy`):

* when an operator confirms an event that matches, it goes out automatically;
* with ``unconfirmed``, a matching event goes out as soon as it opens, or when an update
  raises its peak score to ``min_score`` — before any operator has looked at it. Such alerts
  carry ``"automatic": true`` and ``"event": {"status": "open"}``;
* a dismissed event is never published automatically.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.exc import SQLAlchemyError

from alerts.departments import Department, DepartmentStore
from alerts.locate import LocationStore
from alerts.outbox import Outbox
from alerts.service import PublishError, PublishRequest, PublishService
from detector.types import Transition
from store.db import EventRecord, EventStatus
from store.events import Decision, EventChange, EventNotFound, EventStore
from streams.supervise import Heartbeat, Supervisor

log = logging.getLogger(__name__)

_DETECTION = frozenset({Transition.OPENED.value, Transition.UPDATED.value})


def policy_message(dep: Department, event: EventRecord) -> str:
    """The message of an automatic alert: which rule sent it."""
    where = ", ".join(dep.auto.cameras) or "any camera"
    when = "unconfirmed" if event.status is EventStatus.OPEN else "confirmed"
    return (
        f"Automatic alert ({when}): {event.cls} with peak score {event.peak_score:.2f} "
        f"(policy: {'/'.join(dep.auto.classes)} >= {dep.auto.min_score:.2f} on {where})."
    )


class EventReactor:
    """Queues store changes and handles them on one background thread."""

    def __init__(
        self,
        events: EventStore,
        departments: DepartmentStore,
        outbox: Outbox,
        locations: LocationStore,
        service: PublishService,
        supervisor: Supervisor | None = None,
    ) -> None:
        self.events, self.departments, self.outbox = events, departments, outbox
        self.locations, self.service = locations, service
        # Errors only: the thread waits for changes, an idle wait is no stall.
        self._errors = Heartbeat("alert-policy", "alert_policy", 1.0, supervisor or Supervisor())
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="alert-policy")
        self._closed = threading.Event()

    def __call__(self, change: EventChange) -> None:
        """The store listener: queue the change (never blocks the writer)."""
        wanted = change.change in _DETECTION or change.change == Decision.CONFIRM.value
        if wanted and not self._closed.is_set():
            self._pool.submit(self._handle, change)

    def close(self) -> None:
        """Finish the queued changes, then ignore new ones."""
        self._closed.set()
        self._pool.shutdown(wait=True)

    def drain(self) -> None:
        """Wait until every change queued so far was handled (tests)."""
        self._pool.submit(lambda: None).result()

    def _handle(self, change: EventChange) -> None:
        try:
            event = self.events.get_event(change.event_id)
            if change.change in _DETECTION:
                self.locations.observe(event)
            self._auto_publish(event)
        except (SQLAlchemyError, EventNotFound, PublishError):
            log.exception(
                "camera %s: handling %s of event %d failed",
                change.camera_id,
                change.change,
                change.event_id,
            )
        except Exception as exc:  # the pool would keep it silently in a future nobody reads
            where = f"event {change.event_id} {change.change} (camera {change.camera_id})"
            self._errors.failed(exc, where)

    def _auto_publish(self, event: EventRecord) -> None:
        if event.status is EventStatus.DISMISSED:
            return
        confirmed = event.status is EventStatus.CONFIRMED
        due = [
            dep
            for dep in self.departments.list_all(enabled_only=True)
            if dep.auto.enabled
            and (confirmed or dep.auto.unconfirmed)
            and dep.auto.matches(event.camera_id, event.cls, event.peak_score)
            and not self.outbox.has_automatic(event.id, dep.id)
        ]
        # One publication per department: each names the rule that sent it.
        for dep in due:
            self.service.publish(
                PublishRequest(
                    event_id=event.id,
                    departments=[dep.id],
                    message=policy_message(dep, event),
                    automatic=True,
                    require_confirmed=False,
                )
            )
