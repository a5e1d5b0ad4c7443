"""Bearing of each event and its estimated location from a second camera.

When an event opens or updates on a camera with a known heading and field of view, the
bearing of its best region's horizontal centre is stored. Events of other cameras that
started within ``pair_window_s`` and have a bearing are candidates; among the pairs whose
rays cross plausibly (:func:`alerts.geo.triangulate`), the one with the widest angle between
rays (best geometry) wins, and the crossing point is stored on both events. An event that
already holds a fix from another pair keeps it unless the new pair has a wider angle.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from alerts.geo import (
    Crossing,
    LatLon,
    Ray,
    angle_quality,
    bearing_of,
    box_centre_x,
    ray_angle_deg,
    triangulate,
)
from service.alert_config import LocationConfig
from store.alert_tables import EventLocationRow
from store.db import EventRecord
from streams.config import CameraConfig

log = logging.getLogger(__name__)

CameraLookup = Callable[[], Mapping[str, CameraConfig]]


@dataclass(frozen=True, slots=True)
class EventLocation:
    """An event's bearing (degrees from north) and, when paired, the estimated position."""

    event_id: int
    camera_id: str
    started_at: float
    bearing_deg: float
    latitude: float | None = None
    longitude: float | None = None
    paired_event_id: int | None = None
    distance_km: float | None = None  # from this event's camera to the estimated position

    @property
    def located(self) -> bool:
        return self.latitude is not None and self.longitude is not None


def _record(row: EventLocationRow) -> EventLocation:
    return EventLocation(
        event_id=row.event_id,
        camera_id=row.camera_id,
        started_at=row.started_at,
        bearing_deg=row.bearing_deg,
        latitude=row.latitude,
        longitude=row.longitude,
        paired_event_id=row.paired_event_id,
        distance_km=row.distance_km,
    )


def event_bearing(event: EventRecord, camera: CameraConfig | None) -> float | None:
    """Bearing of the event's highest-scoring region of its class, or None when the camera's
    heading or field of view is unknown or the event has no region."""
    if camera is None or camera.heading_deg is None or camera.fov_deg is None:
        return None
    regions = [r for r in event.regions if r.cls == event.cls] or list(event.regions)
    if not regions:
        snap = event.snapshot()
        regions = [r for r in (snap.regions if snap else ()) if r.cls == event.cls]
    if not regions:
        return None
    best = max(regions, key=lambda r: r.score)
    return bearing_of(camera.heading_deg, camera.fov_deg, box_centre_x(best.box))


def _ray(camera: CameraConfig | None, bearing: float) -> Ray | None:
    if camera is None or camera.latitude is None or camera.longitude is None:
        return None
    return Ray(LatLon(camera.latitude, camera.longitude), bearing)


class LocationStore:
    """Stores bearings and fixes in ``event_locations`` (one session per call)."""

    def __init__(
        self,
        engine: Engine,
        cameras: CameraLookup,
        settings: LocationConfig,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._cameras = cameras
        self.settings = settings
        self._clock = clock

    def get(self, event_id: int) -> EventLocation | None:
        with self._sessions() as session:
            row = session.get(EventLocationRow, event_id)
            return None if row is None else _record(row)

    def recent(self, since: float) -> list[EventLocation]:
        """Events started at or after ``since`` (epoch s) that have a bearing, oldest first."""
        query = (
            select(EventLocationRow)
            .where(EventLocationRow.started_at >= since)
            .order_by(EventLocationRow.started_at)
        )
        with self._sessions() as session:
            return [_record(r) for r in session.scalars(query)]

    def observe(self, event: EventRecord) -> EventLocation | None:
        """Store the bearing of ``event`` and try to pair it; return its location row."""
        cameras = self._cameras()
        bearing = event_bearing(event, cameras.get(event.camera_id))
        if bearing is None:
            return self.get(event.id)
        with self._sessions() as session:
            row = session.get(EventLocationRow, event.id)
            if row is None:
                row = EventLocationRow(
                    event_id=event.id, camera_id=event.camera_id, started_at=event.started_at
                )
                session.add(row)
            row.bearing_deg, row.updated_at = bearing, self._clock()
            self._pair(session, row, cameras)
            session.commit()
            return _record(row)

    def _pair(
        self, session: Session, row: EventLocationRow, cameras: Mapping[str, CameraConfig]
    ) -> None:
        ray = _ray(cameras.get(row.camera_id), row.bearing_deg)
        if ray is None:
            return
        window = self.settings.pair_window_s
        candidates = session.scalars(
            select(EventLocationRow).where(
                EventLocationRow.camera_id != row.camera_id,
                EventLocationRow.started_at >= row.started_at - window,
                EventLocationRow.started_at <= row.started_at + window,
            )
        )
        best = self._best_crossing(ray, candidates, cameras)
        if best is None:
            return
        other, fix = best
        self._set_fix(row, fix.point, other.event_id, fix.distance_a_km)
        if self._takes_fix(session, other, row.event_id, fix.angle_quality):
            self._set_fix(other, fix.point, row.event_id, fix.distance_b_km)
        log.info(
            "camera %s: event %d located at %.5f, %.5f with event %d (camera %s)",
            row.camera_id,
            row.event_id,
            fix.point.latitude,
            fix.point.longitude,
            other.event_id,
            other.camera_id,
        )

    def _best_crossing(
        self,
        ray: Ray,
        candidates: Iterable[EventLocationRow],
        cameras: Mapping[str, CameraConfig],
    ) -> tuple[EventLocationRow, Crossing] | None:
        """The candidate whose ray crosses ``ray`` plausibly at the widest angle."""
        best: tuple[EventLocationRow, Crossing] | None = None
        for other in candidates:
            other_ray = _ray(cameras.get(other.camera_id), other.bearing_deg)
            if other_ray is None:
                continue
            fix = triangulate(
                ray,
                other_ray,
                max_distance_km=self.settings.max_distance_km,
                min_angle_deg=self.settings.min_angle_deg,
            )
            if fix is not None and (best is None or fix.angle_quality > best[1].angle_quality):
                best = (other, fix)
        return best

    def _takes_fix(
        self,
        session: Session,
        other: EventLocationRow,
        event_id: int,
        quality: float,
    ) -> bool:
        """Whether ``other`` should take the new fix: it has none, its fix is with this
        event, or its current partner's rays meet at a narrower angle."""
        if other.paired_event_id is None or other.paired_event_id == event_id:
            return True
        partner = session.get(EventLocationRow, other.paired_event_id)
        if partner is None:
            return True
        current = angle_quality(ray_angle_deg(other.bearing_deg, partner.bearing_deg))
        return quality > current

    def _set_fix(self, row: EventLocationRow, point: LatLon, paired: int, distance: float) -> None:
        row.latitude, row.longitude = point.latitude, point.longitude
        row.paired_event_id, row.distance_km = paired, distance
        row.updated_at = self._clock()
