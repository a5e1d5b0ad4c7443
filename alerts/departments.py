"""Departments that receive alerts: storage and the automatic publishing policy."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from alerts.template import WebhookTemplate
from store.alert_tables import (
    PENDING,
    DeliveryRow,
    DeliveryStatus,
    DepartmentRow,
    WebhookFormat,
    split_addresses,
)
from store.sql import rowcount


class DepartmentError(Exception):
    """Base of the department store's typed errors."""


class DepartmentNotFound(DepartmentError, LookupError):
    def __init__(self, department_id: int) -> None:
        super().__init__(f"department {department_id} does not exist")
        self.department_id = department_id


class DepartmentNameTaken(DepartmentError):
    def __init__(self, name: str) -> None:
        super().__init__(f"a department named {name!r} exists already")


@dataclass(frozen=True, slots=True)
class AutoPolicy:
    """When alerts go to a department without an operator's click.

    Off while ``classes`` is empty. An event matches when its class is listed, its camera is
    listed (or ``cameras`` is empty: any camera) and its peak score is at least ``min_score``.
    ``unconfirmed``: publish as soon as a matching event opens or rises; otherwise only when
    an operator confirms it.
    """

    classes: tuple[str, ...] = ()
    cameras: tuple[str, ...] = ()
    min_score: float = 0.0
    unconfirmed: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.classes)

    def matches(self, camera_id: str, cls: str, peak_score: float) -> bool:
        if cls not in self.classes or peak_score < self.min_score:
            return False
        return not self.cameras or camera_id in self.cameras


@dataclass(frozen=True, slots=True)
class DepartmentSpec:
    """What an admin sets. ``secret`` None on update: keep the stored one."""

    name: str
    webhook_url: str | None
    secret: str | None = field(default=None, repr=False)
    email_to: tuple[str, ...] = ()
    mqtt_topic: str | None = None
    webhook_format: WebhookFormat = WebhookFormat.EMBERWATCH
    template: WebhookTemplate | None = field(default=None, repr=False)
    enabled: bool = True
    escalation_minutes: float | None = None
    auto: AutoPolicy = AutoPolicy()


@dataclass(frozen=True, slots=True)
class Department:
    id: int
    name: str
    webhook_url: str | None
    secret: str = field(repr=False)
    enabled: bool
    escalation_minutes: float | None
    auto: AutoPolicy
    created_at: float
    updated_at: float
    email_to: tuple[str, ...] = ()
    mqtt_topic: str | None = None
    webhook_format: WebhookFormat = WebhookFormat.EMBERWATCH
    template: WebhookTemplate | None = field(default=None, repr=False)


def _record(row: DepartmentRow) -> Department:
    return Department(
        id=row.id,
        name=row.name,
        webhook_url=row.webhook_url,
        email_to=split_addresses(row.email_to),
        mqtt_topic=row.mqtt_topic,
        webhook_format=WebhookFormat(row.webhook_format),
        template=WebhookTemplate.load(row.webhook_template),
        secret=row.secret,
        enabled=row.enabled,
        escalation_minutes=row.escalation_minutes,
        auto=AutoPolicy(
            classes=tuple(str(c) for c in row.auto_classes or ()),
            cameras=tuple(str(c) for c in row.auto_cameras or ()),
            min_score=row.auto_min_score,
            unconfirmed=row.auto_unconfirmed,
        ),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _apply(row: DepartmentRow, spec: DepartmentSpec) -> None:
    row.name, row.webhook_url, row.enabled = spec.name, spec.webhook_url, spec.enabled
    row.email_to = ", ".join(spec.email_to) or None
    row.mqtt_topic = spec.mqtt_topic
    row.webhook_format = spec.webhook_format.value
    row.webhook_template = spec.template.stored() if spec.template else None
    if spec.secret is not None:
        row.secret = spec.secret
    row.escalation_minutes = spec.escalation_minutes
    row.auto_classes, row.auto_cameras = list(spec.auto.classes), list(spec.auto.cameras)
    row.auto_min_score, row.auto_unconfirmed = spec.auto.min_score, spec.auto.unconfirmed


class DepartmentStore:
    """Create, read, update and delete departments (thread-safe: one session per call)."""

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._clock = clock

    def create(self, spec: DepartmentSpec) -> Department:
        """Raises DepartmentNameTaken; ValueError when ``spec.secret`` is None."""
        if spec.secret is None:
            raise ValueError("a new department needs a secret")
        now = self._clock()
        row = DepartmentRow(created_at=now, updated_at=now)
        _apply(row, spec)
        with self._sessions() as session:
            session.add(row)
            try:
                session.commit()
            except IntegrityError as exc:
                raise DepartmentNameTaken(spec.name) from exc
            return _record(row)

    def update(self, department_id: int, spec: DepartmentSpec) -> Department:
        """Replace the settings (the secret only when given). Raises DepartmentNotFound,
        DepartmentNameTaken."""
        with self._sessions() as session:
            row = session.get(DepartmentRow, department_id)
            if row is None:
                raise DepartmentNotFound(department_id)
            _apply(row, spec)
            row.updated_at = self._clock()
            try:
                session.commit()
            except IntegrityError as exc:
                raise DepartmentNameTaken(spec.name) from exc
            return _record(row)

    def delete(self, department_id: int) -> int:
        """Delete it; its undelivered alerts are cancelled. Returns how many were cancelled."""
        with self._sessions() as session:
            row = session.get(DepartmentRow, department_id)
            if row is None:
                raise DepartmentNotFound(department_id)
            result = session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.department_id == department_id, DeliveryRow.status.in_(PENDING))
                .values(
                    status=DeliveryStatus.CANCELLED,
                    next_attempt_at=None,
                    last_error="the department was deleted",
                )
                .execution_options(synchronize_session=False)
            )
            session.delete(row)
            session.commit()
            return rowcount(result)

    def get(self, department_id: int) -> Department:
        with self._sessions() as session:
            row = session.get(DepartmentRow, department_id)
            if row is None:
                raise DepartmentNotFound(department_id)
            return _record(row)

    def list_all(self, *, enabled_only: bool = False) -> list[Department]:
        query = select(DepartmentRow).order_by(DepartmentRow.name)
        if enabled_only:
            query = query.where(DepartmentRow.enabled.is_(True))
        with self._sessions() as session:
            return [_record(r) for r in session.scalars(query)]

    def many(self, ids: Iterable[int]) -> list[Department]:
        """The departments with these ids, in the given order. Raises DepartmentNotFound
        naming the first unknown id."""
        wanted = list(dict.fromkeys(ids))
        with self._sessions() as session:
            rows = session.scalars(select(DepartmentRow).where(DepartmentRow.id.in_(wanted)))
            found = {r.id: _record(r) for r in rows}
        for dep_id in wanted:
            if dep_id not in found:
                raise DepartmentNotFound(dep_id)
        return [found[i] for i in wanted]
