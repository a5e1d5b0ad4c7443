"""The durable outbox: publications and their per-department deliveries in the database.

A publish stores its publication and one ``queued`` delivery per department in one
transaction before anything is sent; the sender then only moves rows between states:

    queued ──2xx──▶ delivered ──ack──▶ acknowledged
      │  ▲             │
   error│  │retry due   │ not acknowledged in time (escalation)
      ▼  │             ▼
    failing          queued (escalations + 1)

An ack may arrive in any state (a department that received the alert while our record of
the attempt was lost). Every state change is a conditional UPDATE, so a late answer of an
attempt never overwrites an acknowledgement or a cancellation.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import sessionmaker

from alerts.departments import Department
from alerts.records import (
    DeliveryRecord,
    DeliverySummary,
    DueDelivery,
    PublicationRecord,
    delivery_record,
)
from alerts.signing import new_token
from store.alert_tables import (
    PENDING,
    DeliveryRow,
    DeliveryStatus,
    DepartmentRow,
    PublicationRow,
)
from store.sql import rowcount


class DeliveryNotFound(LookupError):
    """No delivery has this ack token."""


@dataclass(frozen=True, slots=True)
class NewPublication:
    """A publish request as stored: ``payload`` is the shared JSON part (see payload.py)."""

    uid: str
    event_id: int
    publisher: str | None
    automatic: bool
    message: str
    payload: Mapping[str, Any]


def new_uid() -> str:
    return str(uuid.uuid4())


class Outbox:
    """Stores publications and walks deliveries through their states (thread-safe)."""

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._clock = clock
        # Row locks that other transactions skip: PostgreSQL. SQLite has one writer at a time
        # and claims by a conditional UPDATE instead.
        self._row_locks = engine.dialect.name == "postgresql"

    def enqueue(self, pub: NewPublication, departments: Sequence[Department]) -> PublicationRecord:
        """Store the publication and a queued delivery per department in one transaction."""
        now = self._clock()
        with self._sessions() as session:
            row = PublicationRow(
                uid=pub.uid,
                event_id=pub.event_id,
                publisher=pub.publisher,
                automatic=pub.automatic,
                message=pub.message,
                created_at=now,
                payload=dict(pub.payload),
            )
            session.add(row)
            session.flush()
            for dep in departments:
                session.add(
                    DeliveryRow(
                        uid=new_uid(),
                        publication_id=row.id,
                        event_id=pub.event_id,
                        department_id=dep.id,
                        department_name=dep.name,
                        automatic=pub.automatic,
                        status=DeliveryStatus.QUEUED,
                        attempts=0,
                        next_attempt_at=now,
                        ack_token=new_token(),
                        escalations=0,
                        created_at=now,
                    )
                )
            session.commit()
            pub_id = row.id
        return self.publication(pub_id)

    def publication(self, publication_id: int) -> PublicationRecord:
        with self._sessions() as session:
            row = session.get(PublicationRow, publication_id)
            if row is None:
                raise LookupError(f"publication {publication_id} does not exist")
            deliveries = self._deliveries(session, DeliveryRow.publication_id == publication_id)
            return PublicationRecord(
                id=row.id,
                uid=row.uid,
                event_id=row.event_id,
                publisher=row.publisher,
                automatic=row.automatic,
                message=row.message,
                created_at=row.created_at,
                deliveries=tuple(deliveries),
            )

    def for_event(self, event_id: int) -> list[DeliveryRecord]:
        """Every delivery of the event, oldest first."""
        with self._sessions() as session:
            return self._deliveries(session, DeliveryRow.event_id == event_id)

    def _deliveries(self, session: Any, cond: Any) -> list[DeliveryRecord]:
        query = (
            select(DeliveryRow, PublicationRow)
            .join(PublicationRow, PublicationRow.id == DeliveryRow.publication_id)
            .where(cond)
            .order_by(DeliveryRow.id)
        )
        return [delivery_record(d, p) for d, p in session.execute(query)]

    def summary(self, event_ids: Sequence[int]) -> dict[int, DeliverySummary]:
        """Per event: how many deliveries are in each state, and whether any escalated."""
        query = (
            select(
                DeliveryRow.event_id,
                DeliveryRow.status,
                func.count(),
                func.max(DeliveryRow.escalations),
            )
            .where(DeliveryRow.event_id.in_(list(event_ids)))
            .group_by(DeliveryRow.event_id, DeliveryRow.status)
        )
        counts: dict[int, dict[str, int]] = {}
        escalated: set[int] = set()
        with self._sessions() as session:
            for event_id, state, count, most in session.execute(query):
                counts.setdefault(event_id, {})[DeliveryStatus(state).value] = int(count)
                if most:
                    escalated.add(event_id)
        return {
            event_id: DeliverySummary(event_id, by_status, event_id in escalated)
            for event_id, by_status in counts.items()
        }

    def has_automatic(self, event_id: int, department_id: int) -> bool:
        """Whether an automatic alert about this event went to this department already."""
        query = select(func.count()).where(
            DeliveryRow.event_id == event_id,
            DeliveryRow.department_id == department_id,
            DeliveryRow.automatic.is_(True),
        )
        with self._sessions() as session:
            return bool(session.scalar(query))

    # --- the sender's side --------------------------------------------------------------

    def due(
        self, now: float, *, skip: frozenset[int] = frozenset(), limit: int = 64
    ) -> list[DueDelivery]:
        """Pending deliveries whose next attempt is due, to enabled departments, oldest first.

        ``skip``: ids already being sent. A disabled department's deliveries wait.
        """
        with self._sessions() as session:
            rows = session.execute(_due_query(now, skip).limit(limit))
            return [DueDelivery.of(d, dep, pub) for d, dep, pub in rows]

    def claim_due(
        self, now: float, lease_s: float, *, skip: frozenset[int] = frozenset(), limit: int = 64
    ) -> list[DueDelivery]:
        """The :meth:`due` deliveries this sender won: each one's next attempt moves to
        ``now + lease_s`` unless another sender on the same database moved it first.

        So two services on one database never send the same copy at once; if a sender dies
        mid-request its claims run out and the copy is sent again (same Idempotency-Key).
        Each claim is its own short transaction, decided by the database at write time.
        """
        if self._row_locks:
            return self._claim_locked(now, lease_s, skip, limit)
        claimed = []
        for due in self.due(now, skip=skip, limit=limit):
            stmt = (
                update(DeliveryRow)
                .where(
                    DeliveryRow.id == due.id,
                    DeliveryRow.status.in_(PENDING),
                    DeliveryRow.next_attempt_at == due.due_at,
                )
                .values(next_attempt_at=now + lease_s)
                .execution_options(synchronize_session=False)
            )
            with self._sessions() as session:
                won = rowcount(session.execute(stmt)) > 0
                session.commit()
            if won:
                claimed.append(due)
        return claimed

    def _claim_locked(
        self, now: float, lease_s: float, skip: frozenset[int], limit: int
    ) -> list[DueDelivery]:
        """:meth:`claim_due` on PostgreSQL: row by row, the oldest due delivery that no other
        replica has locked (``FOR UPDATE SKIP LOCKED``) is moved on in its own transaction,
        so replicas claim side by side without waiting on each other or claiming twice."""
        claimed: list[DueDelivery] = []
        while len(claimed) < limit:
            taken = skip | {due.id for due in claimed}
            query = _due_query(now, frozenset(taken)).limit(1)
            with self._sessions() as session:
                found = session.execute(query.with_for_update(skip_locked=True, of=DeliveryRow))
                row = found.first()
                if row is None:
                    return claimed
                delivery, dep, pub = row
                claimed.append(DueDelivery.of(delivery, dep, pub))
                delivery.next_attempt_at = now + lease_s
                session.commit()
        return claimed

    def next_due_at(self) -> float | None:
        """When the earliest pending delivery is due (epoch s), None when nothing is pending."""
        query = select(func.min(DeliveryRow.next_attempt_at)).where(DeliveryRow.status.in_(PENDING))
        with self._sessions() as session:
            value = session.scalar(query)
            return None if value is None else float(value)

    def mark_delivered(self, delivery_id: int, status_code: int) -> bool:
        """Record a 2xx answer; False when the delivery left the pending states meanwhile."""
        now = self._clock()
        return self._transition(
            delivery_id,
            status=DeliveryStatus.DELIVERED,
            attempts=DeliveryRow.attempts + 1,
            last_attempt_at=now,
            delivered_at=now,
            next_attempt_at=None,
            last_error=None,
            last_status_code=status_code,
        )

    def mark_failed(
        self, delivery_id: int, error: str, status_code: int | None, retry_at: float
    ) -> bool:
        """Record a failed attempt and when to retry; False when no longer pending."""
        return self._transition(
            delivery_id,
            status=DeliveryStatus.FAILING,
            attempts=DeliveryRow.attempts + 1,
            last_attempt_at=self._clock(),
            next_attempt_at=retry_at,
            last_error=error[:2000],
            last_status_code=status_code,
        )

    def _transition(self, delivery_id: int, **values: Any) -> bool:
        stmt = (
            update(DeliveryRow)
            .where(DeliveryRow.id == delivery_id, DeliveryRow.status.in_(PENDING))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        with self._sessions() as session:
            changed = rowcount(session.execute(stmt))
            session.commit()
        return changed > 0

    def by_ack_token(self, token: str) -> DeliveryRecord:
        """The delivery with this ack token, unchanged (the page an ack link opens).

        Raises:
            DeliveryNotFound: no delivery has this token.
        """
        with self._sessions() as session:
            found = self._deliveries(session, DeliveryRow.ack_token == token)
        if not found:
            raise DeliveryNotFound("no alert has this acknowledgement link")
        return found[0]

    def acknowledge(self, token: str) -> DeliveryRecord:
        """Mark the delivery with this ack token acknowledged (the first ack's time is kept).

        Raises:
            DeliveryNotFound: no delivery has this token.
        """
        now = self._clock()
        with self._sessions() as session:
            row = session.scalar(select(DeliveryRow).where(DeliveryRow.ack_token == token))
            if row is None:
                raise DeliveryNotFound("no alert has this acknowledgement link")
            if row.acknowledged_at is None:
                session.execute(
                    update(DeliveryRow)
                    .where(DeliveryRow.id == row.id, DeliveryRow.acknowledged_at.is_(None))
                    .values(
                        status=DeliveryStatus.ACKNOWLEDGED,
                        acknowledged_at=now,
                        next_attempt_at=None,
                    )
                    .execution_options(synchronize_session=False)
                )
                session.commit()
                session.expire_all()  # the UPDATE bypassed the loaded row
            return self._deliveries(session, DeliveryRow.id == row.id)[0]

    def escalate_due(self, max_escalations: int) -> list[DeliveryRecord]:
        """Re-queue delivered, unacknowledged alerts whose department's escalation time passed
        since the last delivery; return them (with ``escalations`` counted up)."""
        now = self._clock()
        query = (
            select(DeliveryRow.id, DeliveryRow.delivered_at, DepartmentRow.escalation_minutes)
            .join(DepartmentRow, DepartmentRow.id == DeliveryRow.department_id)
            .where(
                DeliveryRow.status == DeliveryStatus.DELIVERED,
                DeliveryRow.escalations < max_escalations,
                DepartmentRow.escalation_minutes.is_not(None),
                DepartmentRow.enabled.is_(True),
            )
        )
        with self._sessions() as session:
            ids = [
                row_id
                for row_id, delivered_at, minutes in session.execute(query)
                if delivered_at is not None and minutes is not None
                and delivered_at + minutes * 60.0 <= now
            ]  # fmt: skip
            if not ids:
                return []
            session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id.in_(ids), DeliveryRow.status == DeliveryStatus.DELIVERED)
                .values(
                    status=DeliveryStatus.QUEUED,
                    escalations=DeliveryRow.escalations + 1,
                    escalated_at=now,
                    next_attempt_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            session.commit()
            return self._deliveries(session, DeliveryRow.id.in_(ids))


def _due_query(now: float, skip: frozenset[int]) -> Any:
    """Pending deliveries due at ``now`` to enabled departments, oldest first."""
    query = (
        select(DeliveryRow, DepartmentRow, PublicationRow)
        .join(DepartmentRow, DepartmentRow.id == DeliveryRow.department_id)
        .join(PublicationRow, PublicationRow.id == DeliveryRow.publication_id)
        .where(
            DeliveryRow.status.in_(PENDING),
            DeliveryRow.next_attempt_at <= now,
            DepartmentRow.enabled.is_(True),
        )
        .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id)
    )
    return query.where(DeliveryRow.id.not_in(skip)) if skip else query
