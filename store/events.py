"""Event storage: the recorder's writes and the API's queries (reads).

Writes come from the recorder thread (:meth:`EventStore.apply`, :mod:`service.recording`) and
from HTTP handlers (:meth:`EventStore.decide`); they are serialised by one lock so SQLite never
sees two writers from this process. Reads run concurrently (WAL).

How transitions become rows (unknown episodes, snapshots first) is described in
:mod:`store.recorder`. Dismissing an event also mutes its region (:mod:`store.mutes`) in the same
transaction; mute listeners hear of every camera whose mutes changed, so the running detector
gets them at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload, sessionmaker

from detector.types import EventUpdate
from store.db import (
    EventRecord,
    EventRow,
    EventStatus,
    ScoreRow,
    SnapshotKind,
    event_record,
)
from store.health import StorageHealth
from store.mutes import MuteRecord, active_mutes, lift, mute_row
from store.recorder import EpisodeRecorder, Receipt
from store.snapshots import SnapshotError, SnapshotWriter
from store.sql import rowcount

log = logging.getLogger(__name__)


class Decision(StrEnum):
    CONFIRM = "confirm"
    DISMISS = "dismiss"

    @property
    def status(self) -> EventStatus:
        return EventStatus.CONFIRMED if self is Decision.CONFIRM else EventStatus.DISMISSED


class StoreError(Exception):
    """Base of the store's typed errors."""


class EventNotFound(StoreError, LookupError):
    def __init__(self, event_id: int) -> None:
        super().__init__(f"event {event_id} does not exist")
        self.event_id = event_id


class EventAlreadyDecided(StoreError):
    """The event was confirmed or dismissed before; ``event`` says by whom and when."""

    def __init__(self, event: EventRecord) -> None:
        who = event.operator or "an unknown operator"
        super().__init__(f"event {event.id} was already {event.status.value} by {who}")
        self.event = event


class SnapshotNotFound(StoreError, LookupError):
    """The event exists but has no snapshot of that kind, or its file is gone."""


@dataclass(frozen=True, slots=True)
class EventChange:
    """Told to listeners after a change was committed. ``change``: a Transition or Decision."""

    event_id: int
    camera_id: str
    cls: str
    change: str


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Query filters; None means "any". ``since``/``until`` bound ``started_at`` (epoch s)."""

    camera: str | None = None
    cls: str | None = None
    status: EventStatus | None = None
    since: float | None = None
    until: float | None = None
    active: bool | None = None


Listener = Callable[[EventChange], None]
# Called with a camera id after that camera's mutes changed (a dismissal or a lift).
MuteListener = Callable[[str], object]


def _written_folders(engine: Engine, snapshot_dir: Path) -> list[Path]:
    """The snapshot folder and, for a SQLite file, the database's folder."""
    database = engine.url.database
    if engine.url.get_backend_name() != "sqlite" or not database or "memory" in database:
        return [snapshot_dir]
    return [snapshot_dir, Path(database.removeprefix("file:").split("?")[0]).parent]


class EventStore:
    """Stores event transitions and snapshots; answers the API's queries.

    Args:
        engine: from :func:`store.db.make_engine`, tables created by :func:`store.db.init_db`.
        snapshot_dir: root of the snapshot files.
        camera_names: camera id -> display name, copied into each new event.
        clock: epoch seconds for ``created_at`` and ``decided_at`` (tests pass a fake).
        mute_half_life_s: how fast a muted region's level halves (``smoothing``); None: mutes
            never fade, they stay in force until lifted.
    """

    def __init__(
        self,
        engine: Engine,
        snapshot_dir: Path,
        *,
        camera_names: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        mute_half_life_s: float | None = None,
    ) -> None:
        self.engine = engine
        self.health = StorageHealth(_written_folders(engine, snapshot_dir))
        self.snapshots = SnapshotWriter(snapshot_dir, health=self.health)
        self._clock = clock
        self.mute_half_life_s = mute_half_life_s
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._recorder = EpisodeRecorder(self._sessions, self.snapshots, camera_names or {}, clock)
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._view_listeners: list[Listener] = []
        self._generation = 0  # moves on every change of an event committed or announced
        self._mute_listeners: list[MuteListener] = []

    def set_camera_name(self, camera_id: str, name: str) -> None:
        """Display name copied into events opened from now on (a camera added or renamed)."""
        with self._lock:
            self._recorder.set_camera_name(camera_id, name)

    @property
    def generation(self) -> int:
        """A number that changes after every event change this store commits or hears
        announced (for caches)."""
        return self._generation

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` after every committed change (from the writing thread)."""
        self._listeners.append(listener)

    def add_view_listener(self, listener: Listener) -> None:
        """Call ``listener`` after every change committed here and every change another
        process announced (:meth:`announce`): for what only shows changes (the live feed)."""
        self._view_listeners.append(listener)

    def announce(self, change: EventChange) -> None:
        """A change another process committed to the same database (API replicas on a bus):
        told to the view listeners only, never to those that act on it (alerts)."""
        self._call(self._view_listeners, change)

    def add_mute_listener(self, listener: MuteListener) -> None:
        """Call ``listener(camera_id)`` after a camera's mutes changed (from the writing thread,
        outside the store's lock)."""
        self._mute_listeners.append(listener)

    # --- writes -------------------------------------------------------------------------

    def apply(self, update: EventUpdate) -> int | None:
        """Store one transition; return the event id, or None when nothing was stored.

        Thread-safe. Database errors are logged with the camera id and swallowed so that the
        recorder thread calling this keeps running.
        """
        with self._lock:
            try:
                event_id = self._recorder.record(update)
                self.health.succeeded("event")
            except SQLAlchemyError as exc:
                self.health.failed("event", str(getattr(exc, "orig", None) or type(exc).__name__))
                log.exception(
                    "camera %s: could not store %s %s event",
                    update.camera_id,
                    update.transition.value,
                    update.cls,
                )
                return None
        if event_id is not None:
            self._notify(EventChange(event_id, update.camera_id, update.cls, update.transition))
        return event_id

    def record(self, update: EventUpdate, receipt: Receipt | None = None) -> int | None:
        """As :meth:`apply`, but a database error is raised: the caller retries the
        transition (the bus recorder, which acknowledges only what was committed).
        ``receipt`` is committed in the same transaction as the transition."""
        with self._lock:
            event_id = self._recorder.record(update, receipt)
        if event_id is not None:
            self._notify(EventChange(event_id, update.camera_id, update.cls, update.transition))
        return event_id

    def adopt_episode(self, camera_id: str, cls: str, track: int, event_id: int) -> None:
        """Continue stored event ``event_id`` with the episode's next transitions."""
        with self._lock:
            if not self._recorder.knows(camera_id, cls, track):
                self._recorder.adopt(camera_id, cls, track, event_id)

    def close_stale(self) -> int:
        """End events a previous process left active (ended_at = last_seen_at); return count.

        Episodes this store has open are left alone. Closed events can still be decided.
        """
        with self._lock:
            count = self._recorder.end_at_last_seen()
            self._generation += 1
        if count:
            log.info("closed %d event(s) left active by a previous run", count)
        return count

    def decide(self, event_id: int, action: Decision, operator: str, note: str = "") -> EventRecord:
        """Confirm or dismiss an event (active or closed) once; a dismissal mutes its region.

        Raises:
            EventNotFound: no event with this id.
            EventAlreadyDecided: it was confirmed or dismissed before (the error holds it).
        """
        now = self._clock()
        stmt = (
            update(EventRow)
            .where(EventRow.id == event_id, EventRow.status == EventStatus.OPEN)
            .values(status=action.status, operator=operator, note=note, decided_at=now)
        )
        with self._lock, self._sessions() as session:
            # A conditional UPDATE is atomic on every database, even with several processes.
            changed = rowcount(session.execute(stmt))
            row = session.get(EventRow, event_id) if changed else None
            if row is not None and action is Decision.DISMISS:
                session.add(mute_row(row, operator, now))
            session.commit()
        record = self.get_event(event_id)
        if not changed:
            raise EventAlreadyDecided(record)
        log.info(
            "camera %s: event %d %s by %s",
            record.camera_id,
            event_id,
            action.status.value,
            operator,
        )
        self._notify(EventChange(event_id, record.camera_id, record.cls, action))
        if action is Decision.DISMISS:
            self._notify_mutes(record.camera_id)
        return record

    def mutes(self, camera_id: str | None = None) -> list[MuteRecord]:
        """Mutes in force (neither lifted nor faded), oldest first; of one camera when
        ``camera_id`` is given."""
        with self._sessions() as session:
            return active_mutes(session, camera_id, self._clock(), self.mute_half_life_s)

    def lift_mute(self, mute_id: int, by: str) -> MuteRecord:
        """Lift a mute (any operator may lift anyone's); its region alerts as usual again.

        Raises:
            MuteNotFound: no mute with this id.
            MuteAlreadyLifted: it was lifted before (the error holds it).
        """
        with self._lock, self._sessions() as session:
            record = lift(session, mute_id, by, self._clock())
            session.commit()
        log.info("camera %s: mute %d (%s) lifted by %s", record.camera_id, mute_id, record.cls, by)
        self._notify_mutes(record.camera_id)
        return record

    def _notify_mutes(self, camera_id: str) -> None:
        for listener in self._mute_listeners:
            try:
                listener(camera_id)
            except Exception:  # the mute is stored; the detector gets it at the next start
                log.exception("mute listener %r failed for camera %s", listener, camera_id)

    def _notify(self, change: EventChange) -> None:
        self._call([*self._listeners, *self._view_listeners], change)

    def _call(self, listeners: list[Listener], change: EventChange) -> None:
        with self._lock:
            self._generation += 1
        for listener in listeners:
            try:
                listener(change)
            except Exception:  # a faulty listener must not break storage or the scheduler
                log.exception("event listener %r failed for event %d", listener, change.event_id)

    # --- reads --------------------------------------------------------------------------

    def ping(self) -> None:
        """Run a trivial query; raises SQLAlchemyError when the database is unreachable."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def get_event(self, event_id: int) -> EventRecord:
        """The event with its snapshots and score timeline. Raises EventNotFound."""
        with self._sessions() as session:
            loads = [selectinload(EventRow.snapshots), selectinload(EventRow.parent)]
            row = session.get(EventRow, event_id, options=loads)
            if row is None:
                raise EventNotFound(event_id)
            points = session.scalars(
                select(ScoreRow).where(ScoreRow.event_id == event_id).order_by(ScoreRow.ts)
            ).all()
            return event_record(row, timeline=points)

    def list_events(
        self, filters: EventFilter | None = None, *, limit: int = 50, offset: int = 0
    ) -> tuple[list[EventRecord], int]:
        """Events matching ``filters``, newest first, and the total count before paging."""
        f = filters or EventFilter()
        conds = []
        if f.camera is not None:
            conds.append(EventRow.camera_id == f.camera)
        if f.cls is not None:
            conds.append(EventRow.cls == f.cls)
        if f.status is not None:
            conds.append(EventRow.status == f.status)
        if f.since is not None:
            conds.append(EventRow.started_at >= f.since)
        if f.until is not None:
            conds.append(EventRow.started_at < f.until)
        if f.active is not None:
            conds.append(
                EventRow.ended_at.is_(None) if f.active else EventRow.ended_at.is_not(None)
            )
        query = (
            select(EventRow)
            .where(*conds)
            .options(selectinload(EventRow.snapshots), selectinload(EventRow.parent))
            .order_by(EventRow.started_at.desc(), EventRow.id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self._sessions() as session:
            total = session.scalar(select(func.count()).select_from(EventRow).where(*conds))
            rows = session.scalars(query).all()
            return [event_record(r) for r in rows], int(total or 0)

    def snapshot_path(
        self, event_id: int, kind: SnapshotKind | None = None, *, clean: bool = False
    ) -> Path:
        """Absolute path of an event's snapshot JPEG (default kind: peak if any, else opened).

        Raises:
            EventNotFound: no such event.
            SnapshotNotFound: no snapshot of that kind, or its file is missing.
        """
        event = self.get_event(event_id)
        snap = event.snapshot(kind)
        what = f"{kind.value} snapshot" if kind else "snapshot"
        if snap is None:
            raise SnapshotNotFound(f"event {event_id} has no {what}")
        try:
            path = self.snapshots.resolve(snap.path_clean if clean else snap.path_annotated)
        except SnapshotError as exc:
            raise SnapshotNotFound(str(exc)) from exc
        if not path.is_file():
            raise SnapshotNotFound(f"the {what} file of event {event_id} is missing")
        return path
