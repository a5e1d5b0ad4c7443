"""Muted regions: what an operator's dismissal teaches a camera, kept in the database.

Dismissing an event mutes its region, for its class, on its camera (:func:`mute_row`, written in
the dismissal's transaction). Inside a muted region the camera's smoother alerts again only when
the evidence spreads beyond the region or rises clearly above the mute's level, a level that
decays over hours by itself (:class:`detector.types.Mute`; it halves every
``smoothing.mute_half_life_s``). A mute is in force until it is lifted or has faded (its level
decayed below :data:`FADED_LEVEL`). It is never deleted: who muted and who lifted it, and when,
stay on the row, so the camera wall can always say why a part of a view is quieter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Double, ForeignKey, Index, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from detector.types import Box, Mute
from store.db import Base, EventRow, box_from_json, box_to_json, regions_from_json
from store.sql import rowcount

#: The region muted by dismissing an event that has neither a region nor boxes (older events).
FULL_VIEW: Box = (0.0, 0.0, 1.0, 1.0)
#: A mute whose decayed level is below this has faded: the detector's margin over a muted level
#: is far larger, so it no longer raises any threshold, and it is neither shown nor applied.
FADED_LEVEL = 0.05


class MuteRow(Base):
    """One muted region of one camera and class; ``lifted_at`` is None while it is in force."""

    __tablename__ = "mutes"
    __table_args__ = (Index("ix_mutes_camera_lifted", "camera_id", "lifted_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    cls: Mapped[str] = mapped_column(String(64))
    # [x0, y0, x1, y1] normalised to 0..1 of the frame.
    box: Mapped[list[Any]] = mapped_column(JSON)
    level: Mapped[float] = mapped_column(Double)
    created_at: Mapped[float] = mapped_column(Double)
    created_by: Mapped[str] = mapped_column(String(100))
    # The dismissed event; a re-alert from this mute links to it.
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    lifted_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    lifted_by: Mapped[str | None] = mapped_column(String(100), nullable=True)


@dataclass(frozen=True, slots=True)
class MuteRecord:
    """A stored mute. Times are epoch seconds (UTC); ``lifted_at`` is None while in force."""

    id: int
    camera_id: str
    cls: str
    box: Box
    level: float
    created_at: float
    created_by: str
    event_id: int
    lifted_at: float | None = None
    lifted_by: str | None = None

    @property
    def active(self) -> bool:
        return self.lifted_at is None

    def fades_at(self, half_life_s: float | None) -> float | None:
        """When the level, halving every ``half_life_s``, falls to :data:`FADED_LEVEL` (None:
        it never fades)."""
        if half_life_s is None:
            return None
        return self.created_at + half_life_s * math.log2(max(self.level / FADED_LEVEL, 1.0))

    def mute(self) -> Mute:
        """What the camera's smoother needs of it."""
        return Mute(self.event_id, self.cls, self.box, self.level, since=self.created_at)


class MuteNotFound(LookupError):
    def __init__(self, mute_id: int) -> None:
        super().__init__(f"mute {mute_id} does not exist")
        self.mute_id = mute_id


class MuteAlreadyLifted(Exception):
    """The mute was lifted before; ``mute`` says by whom and when."""

    def __init__(self, mute: MuteRecord) -> None:
        super().__init__(f"mute {mute.id} was already lifted by {mute.lifted_by}")
        self.mute = mute


def mute_record(row: MuteRow) -> MuteRecord:
    return MuteRecord(
        id=row.id,
        camera_id=row.camera_id,
        cls=row.cls,
        box=box_from_json(row.box) or FULL_VIEW,
        level=row.level,
        created_at=row.created_at,
        created_by=row.created_by,
        event_id=row.event_id,
        lifted_at=row.lifted_at,
        lifted_by=row.lifted_by,
    )


def region_of(event: EventRow) -> Box:
    """The event's region: its box, else the union of its boxes, else the whole view."""
    box = box_from_json(event.box)
    if box is not None:
        return box
    boxes = [r.box for r in regions_from_json(event.regions)]
    if not boxes:
        return FULL_VIEW
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def mute_row(event: EventRow, operator: str, now: float) -> MuteRow:
    """The mute that dismissing ``event`` leaves: its region, at the peak the operator judged.

    The level is the event's peak smoothed score, not its last: the operator saw the peak
    snapshot and called it harmless, so the same look-alike rising to that peak again must not
    nag; evidence clearly above it, or beyond the region, still alerts.
    """
    return MuteRow(
        camera_id=event.camera_id,
        cls=event.cls,
        box=box_to_json(region_of(event)),
        level=event.peak_score,
        created_at=now,
        created_by=operator,
        event_id=event.id,
    )


def active_mutes(
    session: Session, camera_id: str | None, now: float, half_life_s: float | None
) -> list[MuteRecord]:
    """Mutes in force at ``now`` (neither lifted nor faded), oldest first; of one camera when
    ``camera_id`` is given."""
    query = select(MuteRow).where(MuteRow.lifted_at.is_(None)).order_by(MuteRow.id)
    if camera_id is not None:
        query = query.where(MuteRow.camera_id == camera_id)
    if half_life_s is not None:  # nothing above level 1 is stored: older ones have all faded
        oldest = now - half_life_s * math.log2(1.0 / FADED_LEVEL)
        query = query.where(MuteRow.created_at >= oldest)
    records = (mute_record(row) for row in session.scalars(query))
    return [m for m in records if (m.fades_at(half_life_s) or math.inf) > now]


def lift(session: Session, mute_id: int, by: str, now: float) -> MuteRecord:
    """Lift a mute once (the caller commits).

    Raises:
        MuteNotFound: no mute with this id.
        MuteAlreadyLifted: it was lifted before (the error holds it).
    """
    stmt = (
        update(MuteRow)
        .where(MuteRow.id == mute_id, MuteRow.lifted_at.is_(None))
        .values(lifted_at=now, lifted_by=by)
    )
    changed = rowcount(session.execute(stmt))  # atomic, even with several processes
    row = session.get(MuteRow, mute_id, populate_existing=True)
    if row is None:
        raise MuteNotFound(mute_id)
    if not changed:
        raise MuteAlreadyLifted(mute_record(row))
    return mute_record(row)
