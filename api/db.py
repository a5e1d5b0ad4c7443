"""Database engine, tables (SQLAlchemy 2, typed ORM) and the frozen records read from them.

Times are stored as epoch seconds (UTC) in double-precision columns: the detector hands out
epoch floats, comparisons and durations stay plain arithmetic, and the values mean the same on
SQLite and PostgreSQL (no time-zone handling differs between drivers). The API turns them into
time-zone-aware UTC datetimes.

Nothing here uses SQLite-only SQL; moving to PostgreSQL is a URL change.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    Double,
    Engine,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.pool import StaticPool

from api.private_files import private_sqlite_file
from detector.types import Box, Reason, Region

# How long a SQLite writer waits for another connection's lock before failing (milliseconds).
# Writes are short (one event, a few rows), so 10 s only runs out when something is wrong.
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Connections a SQLite file engine keeps open: one per request thread (the server runs sync
# endpoints on 40 threads) plus the pipeline's writers. With SQLAlchemy's default of 5 (+10
# overflow, closed on return) 50 concurrent viewers queued for a connection and reopened one,
# with its PRAGMAs, on most requests.
SQLITE_POOL_SIZE, SQLITE_POOL_OVERFLOW = 40, 16
MIGRATIONS = Path(__file__).with_name("migrations")

log = logging.getLogger(__name__)
# Alembic describes its own machinery at INFO on every start; init_db says what changed.
logging.getLogger("alembic").setLevel(logging.WARNING)


class EventStatus(StrEnum):
    """The operator's verdict. ``open`` until someone confirms or dismisses the event."""

    OPEN = "open"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


class SnapshotKind(StrEnum):
    OPENED = "opened"  # the frame that opened the event
    PEAK = "peak"  # the frame with the highest smoothed score so far (replaced as it rises)


def _enum_column(enum: type[StrEnum]) -> Enum:
    # VARCHAR + CHECK rather than a native enum type: portable, and adding a value later does
    # not need ALTER TYPE on PostgreSQL.
    return Enum(
        enum,
        native_enum=False,
        length=16,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    pass


class EventRow(Base):
    """One detection episode of one class on one camera."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_started_at", "started_at"),
        Index("ix_events_camera_started", "camera_id", "started_at"),
        Index("ix_events_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    camera_name: Mapped[str] = mapped_column(String(200))
    cls: Mapped[str] = mapped_column(String(64))
    status: Mapped[EventStatus] = mapped_column(_enum_column(EventStatus), default=EventStatus.OPEN)
    started_at: Mapped[float] = mapped_column(Double)
    last_seen_at: Mapped[float] = mapped_column(Double)
    # None while the detection is still active.
    ended_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    peak_score: Mapped[float] = mapped_column(Double)
    last_score: Mapped[float] = mapped_column(Double)
    # [{"cls": str, "score": float, "box": [x0, y0, x1, y1]}], boxes normalised to 0..1.
    regions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The episode's region of the view, [x0, y0, x1, y1] normalised; None when unknown.
    box: Mapped[list[float] | None] = mapped_column(JSON, nullable=True)
    # The event this one continues (its region grew or its evidence rose) or re-alerts (a
    # dismissed event whose muted region it outgrew), with the reason it opened.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="SET NULL"), nullable=True
    )
    reason: Mapped[str] = mapped_column(String(32), default="", server_default="")
    operator: Mapped[str | None] = mapped_column(String(100), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    created_at: Mapped[float] = mapped_column(Double)

    snapshots: Mapped[list[SnapshotRow]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="SnapshotRow.ts"
    )
    parent: Mapped[EventRow | None] = relationship(remote_side=[id])


class SnapshotRow(Base):
    """A JPEG pair (annotated + clean) of one event. At most one row per (event, kind)."""

    __tablename__ = "snapshots"
    __table_args__ = (UniqueConstraint("event_id", "kind", name="uq_snapshots_event_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    kind: Mapped[SnapshotKind] = mapped_column(_enum_column(SnapshotKind))
    ts: Mapped[float] = mapped_column(Double)
    score: Mapped[float] = mapped_column(Double)
    # Relative to the snapshot directory, "/"-separated.
    path_annotated: Mapped[str] = mapped_column(String(500))
    path_clean: Mapped[str] = mapped_column(String(500))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # The regions drawn on this snapshot (same shape as EventRow.regions): with the clean
    # copy they make a labelled training sample.
    regions: Mapped[list[Any]] = mapped_column(JSON, default=list)

    event: Mapped[EventRow] = relationship(back_populates="snapshots")


class ScoreRow(Base):
    """One point of an event's smoothed-score timeline (one per stored transition)."""

    __tablename__ = "event_scores"
    __table_args__ = (Index("ix_event_scores_event_ts", "event_id", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    ts: Mapped[float] = mapped_column(Double)
    score: Mapped[float] = mapped_column(Double)


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    # WAL: readers never block the writer and a killed process loses no committed row.
    # synchronous=NORMAL is durable against process crashes in WAL mode (only a power cut can
    # lose the last transactions) and avoids an fsync per commit.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.close()


def _is_memory(database: str | None) -> bool:
    return not database or database == ":memory:" or "mode=memory" in database


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``.

    SQLite: WAL journal, synchronous=NORMAL, foreign keys on, a busy timeout, usable from
    several threads, a pool of :data:`SQLITE_POOL_SIZE` connections; the file is made 0600 (a
    new parent directory 0700). An in-memory SQLite
    URL gets a single shared connection so every thread sees the same database. Other databases
    get ``pool_pre_ping`` so a restarted server does not fail the first request.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if _is_memory(parsed.database):
        kwargs["poolclass"] = StaticPool
    else:
        kwargs.update(pool_size=SQLITE_POOL_SIZE, max_overflow=SQLITE_POOL_OVERFLOW)
        if not str(parsed.database).startswith("file:"):
            private_sqlite_file(Path(str(parsed.database)).expanduser())  # 0600: holds secrets
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def metadata_with_all_tables() -> MetaData:
    """``Base.metadata`` with every table module imported (tables register on import)."""
    import api.auth_tables
    import api.bus_tables
    import api.camera_registry
    import api.mutes
    import api.publish.tables  # noqa: F401

    return Base.metadata


def migrations_config() -> AlembicConfig:
    """Alembic's configuration for the migrations in :data:`MIGRATIONS`."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def init_db(engine: Engine) -> None:
    """Bring the database to the current schema by running the Alembic migrations it lacks.

    Nothing is dropped. The first revision creates only the tables that are missing, so a
    database made before migrations existed is taken over as it is.
    """
    config = migrations_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.begin() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        if current == head:
            return
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    log.info("database schema upgraded from revision %s to %s", current or "(none)", head)


# --- Frozen views of stored rows, handed out by api.store (never ORM rows). ---


@dataclass(frozen=True, slots=True)
class SnapshotRecord:
    """A stored snapshot pair; paths are relative to the snapshot directory."""

    kind: SnapshotKind
    ts: float
    score: float
    path_annotated: str
    path_clean: str
    width: int
    height: int
    regions: tuple[Region, ...] = ()


@dataclass(frozen=True, slots=True)
class ScorePoint:
    ts: float  # epoch seconds
    score: float  # smoothed score, 0..1


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One stored event. Times are epoch seconds (UTC); ``ended_at`` is None while active.

    ``timeline`` is filled only by :meth:`api.store.EventStore.get_event`. ``box`` is the
    episode's region; ``parent_id`` the event it continues or re-alerts (``reason`` says which:
    see :class:`detector.types.Reason`), and ``parent_status`` that event's status.
    """

    id: int
    camera_id: str
    camera_name: str
    cls: str
    status: EventStatus
    started_at: float
    last_seen_at: float
    ended_at: float | None
    peak_score: float
    last_score: float
    regions: tuple[Region, ...]
    operator: str | None
    note: str | None
    decided_at: float | None
    created_at: float
    snapshots: tuple[SnapshotRecord, ...] = ()
    timeline: tuple[ScorePoint, ...] = ()
    box: Box | None = None
    parent_id: int | None = None
    parent_status: EventStatus | None = None
    reason: Reason = Reason.NONE

    @property
    def active(self) -> bool:
        return self.ended_at is None

    def snapshot(self, kind: SnapshotKind | None = None) -> SnapshotRecord | None:
        """The snapshot of ``kind``; the peak one (also without a kind) is the opening one until
        a higher score is seen."""
        by_kind = {snap.kind: snap for snap in self.snapshots}
        if kind is SnapshotKind.OPENED:
            return by_kind.get(kind)
        # Until a frame scores higher, the opening frame is the event's peak.
        return by_kind.get(SnapshotKind.PEAK) or by_kind.get(SnapshotKind.OPENED)


def regions_to_json(regions: Iterable[Region]) -> list[dict[str, Any]]:
    return [
        {"cls": r.cls, "score": float(r.score), "box": [float(v) for v in r.box]} for r in regions
    ]


def regions_from_json(raw: Iterable[Mapping[str, Any]] | None) -> tuple[Region, ...]:
    out = []
    for item in raw or ():
        x0, y0, x1, y1 = (float(v) for v in item["box"])
        out.append(Region(cls=str(item["cls"]), score=float(item["score"]), box=(x0, y0, x1, y1)))
    return tuple(out)


def box_to_json(box: Box | None) -> list[float] | None:
    return None if box is None else [float(v) for v in box]


def box_from_json(raw: Iterable[Any] | None) -> Box | None:
    if raw is None:
        return None
    x0, y0, x1, y1 = (float(v) for v in raw)
    return (x0, y0, x1, y1)


def snapshot_record(row: SnapshotRow) -> SnapshotRecord:
    return SnapshotRecord(
        kind=row.kind,
        ts=row.ts,
        score=row.score,
        path_annotated=row.path_annotated,
        path_clean=row.path_clean,
        width=row.width,
        height=row.height,
        regions=regions_from_json(row.regions),
    )


def event_record(
    row: EventRow, *, with_snapshots: bool = True, timeline: Iterable[ScoreRow] = ()
) -> EventRecord:
    """Copy ``row`` (its snapshots loaded when ``with_snapshots``) into a frozen record.

    Reads ``row.parent`` (load it with the row when copying many)."""
    return EventRecord(
        id=row.id,
        camera_id=row.camera_id,
        camera_name=row.camera_name,
        cls=row.cls,
        status=row.status,
        started_at=row.started_at,
        last_seen_at=row.last_seen_at,
        ended_at=row.ended_at,
        peak_score=row.peak_score,
        last_score=row.last_score,
        regions=regions_from_json(row.regions),
        operator=row.operator,
        note=row.note,
        decided_at=row.decided_at,
        created_at=row.created_at,
        snapshots=tuple(snapshot_record(s) for s in row.snapshots) if with_snapshots else (),
        timeline=tuple(ScorePoint(p.ts, p.score) for p in timeline),
        box=box_from_json(row.box),
        parent_id=row.parent_id,
        parent_status=row.parent.status if row.parent is not None else None,
        reason=Reason(row.reason),
    )
