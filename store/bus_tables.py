"""Rows of the scale-out recorder (``serve --bus``): transitions seen and episodes known.

A transition from the bus is recorded once: its message id is stored with the event it
touched, and a redelivered message finds it. An episode (a worker process's camera, class and
track) gets a number of this database, so that episodes of different workers never mix and an
API replica that takes over recording knows which event each open episode belongs to.
"""

from __future__ import annotations

from sqlalchemy import Double, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.db import Base


class BusTransitionRow(Base):
    """A recorded message of the events stream (its ``Nats-Msg-Id``)."""

    __tablename__ = "bus_transitions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="SET NULL"), nullable=True
    )
    recorded_at: Mapped[float] = mapped_column(Double)


class BusEpisodeRow(Base):
    """One worker process's episode; ``id`` is the track number the recorder uses."""

    __tablename__ = "bus_episodes"
    __table_args__ = (Index("ix_bus_episodes_camera", "camera_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    incarnation: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="SET NULL"), nullable=True
    )
