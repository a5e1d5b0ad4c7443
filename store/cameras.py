"""The cameras the API changed, in the ``runtime_cameras`` table.

One row per camera the API touched since the YAML file was written: a camera definition added
or replacing a YAML camera, a tombstone for a YAML camera that was deleted, or new masks for a
YAML camera. :class:`service.camera_registry.CameraRegistry` applies the rows to the YAML
cameras at start and writes them as the API changes cameras.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Boolean, Double, Engine, String, select
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from store.db import Base
from store.sealing import SealedJSON
from streams.config import Point

Masks = list[list[Point]]


class RuntimeCameraRow(Base):
    """One camera the API changed. ``definition`` None with ``deleted`` False: masks only."""

    __tablename__ = "runtime_cameras"

    camera_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Sealed (store.sealing): a camera URL carries its password.
    definition: Mapped[dict[str, Any] | None] = mapped_column(SealedJSON, nullable=True)
    masks: Mapped[Masks | None] = mapped_column(JSON, nullable=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[float] = mapped_column(Double)


@dataclass(frozen=True, slots=True)
class CameraChange:
    """A stored row: the definition as the client sent it, masks alone, or a tombstone."""

    camera_id: str
    definition: dict[str, Any] | None
    masks: Masks | None
    deleted: bool


def _change(row: RuntimeCameraRow) -> CameraChange:
    return CameraChange(row.camera_id, row.definition, row.masks, row.deleted)


class CameraChanges:
    """Reads and writes of the ``runtime_cameras`` table."""

    def __init__(self, engine: Engine) -> None:
        RuntimeCameraRow.__table__.create(engine, checkfirst=True)  # type: ignore[attr-defined]
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def all(self) -> list[CameraChange]:
        """Every stored change, oldest first."""
        with self._sessions() as session:
            query = select(RuntimeCameraRow).order_by(RuntimeCameraRow.created_at)
            return [_change(row) for row in session.scalars(query)]

    def get(self, camera_id: str) -> CameraChange | None:
        with self._sessions() as session:
            row = session.get(RuntimeCameraRow, camera_id)
            return None if row is None else _change(row)

    def save(
        self,
        camera_id: str,
        *,
        definition: dict[str, Any] | None = None,
        masks: Masks | None = None,
        deleted: bool = False,
    ) -> None:
        """Store the camera's change, replacing the one stored before."""
        now = time.time()
        with self._sessions.begin() as session:
            row = session.get(RuntimeCameraRow, camera_id)
            if row is None:
                row = RuntimeCameraRow(camera_id=camera_id, created_at=now)
                session.add(row)
            row.definition, row.masks = definition, masks
            row.deleted, row.updated_at = deleted, now

    def forget(self, camera_id: str) -> None:
        """Drop the camera's row (a camera the API added and then deleted)."""
        with self._sessions.begin() as session:
            row = session.get(RuntimeCameraRow, camera_id)
            if row is not None:
                session.delete(row)
