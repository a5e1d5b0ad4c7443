"""Turns the detector's episode transitions into event, snapshot and timeline rows.

An episode is one (camera, class, track): a camera may have several episodes of one class open
at once, each in its own region of the view, and each is its own event. The event id of each
open episode is kept in memory. An ``updated`` transition for an episode not known here (its
``opened`` could not be stored, or the process restarted) opens a new event instead of being
dropped, so a running detection is never invisible; a ``closed`` transition for an unknown
episode is logged and ignored. An ``opened`` transition for an episode that is already open
ends the old event first.

Snapshot files are written before the rows that reference them; a snapshot that cannot be
written is logged with the camera id and the event is stored without it. A replaced peak
snapshot's files are deleted only after the row points at the new ones.

An episode that continues another one (``parent_track``: its region grew or its evidence rose)
is linked to that episode's event, which is remembered for the last :data:`RECENT_EPISODES`
episodes also after they closed; one that re-alerts a dismissed event (``parent_event``) is
linked to that event directly. A link to an event that is not stored is dropped with a warning.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from detector.types import EventUpdate, Transition
from store.db import (
    EventRow,
    EventStatus,
    ScoreRow,
    SnapshotKind,
    SnapshotRow,
    box_to_json,
    regions_to_json,
)
from store.snapshots import SnapshotError, SnapshotFiles, SnapshotWriter
from store.sql import rowcount

log = logging.getLogger(__name__)

# (camera id, class, track): one detection episode.
_Key = tuple[str, str, int]
#: Episodes whose event id is remembered after they closed, for links from later episodes.
RECENT_EPISODES = 1000
#: Rows written in the same transaction as a transition, given the event's id: a transition
#: and its receipt (the bus recorder's message id) are committed together or not at all.
Receipt = Callable[[Session, int], None]


class EpisodeRecorder:
    """Writes transitions; used by :class:`store.events.EventStore` under its write lock."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        snapshots: SnapshotWriter,
        camera_names: Mapping[str, str],
        clock: Callable[[], float],
    ) -> None:
        self._sessions = sessions
        self.snapshots = snapshots
        self._camera_names = dict(camera_names)
        self._clock = clock
        self._open: dict[_Key, int] = {}
        self._recent: OrderedDict[_Key, int] = OrderedDict()
        self._receipt: Receipt | None = None

    def set_camera_name(self, camera_id: str, name: str) -> None:
        self._camera_names[camera_id] = name

    def record(self, update: EventUpdate, receipt: Receipt | None = None) -> int | None:
        """Store one transition; return the event id, or None when it was ignored.

        ``receipt`` writes its rows in the transition's own transaction (not called when the
        transition changed nothing). Not thread-safe (the caller holds a lock). Raises
        SQLAlchemyError from the database.
        """
        self._receipt = receipt
        try:
            return self._record(update)
        finally:
            self._receipt = None

    def _record(self, update: EventUpdate) -> int | None:
        key = (update.camera_id, update.cls, update.track)
        if update.transition is Transition.OPENED:
            return self._open_event(update)
        event_id = self._open.get(key)
        if event_id is None:
            if update.transition is Transition.CLOSED:
                log.warning("camera %s: close of an unknown %s episode %d ignored", *key)
                return None
            log.warning("camera %s: update of an unknown %s episode %d opens a new event", *key)
            return self._open_event(update)
        if update.transition is Transition.UPDATED:
            self._update_event(event_id, update)
        else:
            self._close_event(event_id, update)
        return event_id

    def adopt(self, camera_id: str, cls: str, track: int, event_id: int) -> None:
        """Know the open episode (camera, class, track) as stored event ``event_id``: one that
        another process recorded so far (a recorder taking over on the bus)."""
        key = (camera_id, cls, track)
        self._open[key] = event_id
        self._remember(key, event_id)

    def knows(self, camera_id: str, cls: str, track: int) -> bool:
        return (camera_id, cls, track) in self._open

    def _write_snapshot(self, update: EventUpdate, kind: SnapshotKind) -> SnapshotFiles | None:
        if update.frame is None:
            log.warning(
                "camera %s: %s update without a frame, no snapshot", update.camera_id, update.cls
            )
            return None
        try:
            return self.snapshots.write(update.frame, update.cls, kind, update.regions, update.box)
        except SnapshotError as exc:
            log.error("camera %s: %s snapshot not saved: %s", update.camera_id, kind.value, exc)
            return None

    def _snapshot_row(
        self, files: SnapshotFiles, kind: SnapshotKind, update: EventUpdate
    ) -> SnapshotRow:
        return SnapshotRow(
            kind=kind,
            ts=update.ts,
            score=update.score,
            path_annotated=files.path_annotated,
            path_clean=files.path_clean,
            width=files.width,
            height=files.height,
            regions=regions_to_json(update.regions),
        )

    def _open_event(self, update: EventUpdate) -> int:
        key = (update.camera_id, update.cls, update.track)
        previous = self._open.pop(key, None)
        if previous is not None:
            log.warning("camera %s: %s episode %d opened again; closing event %d", *key, previous)
            self.end_at_last_seen([previous])
        files = self._write_snapshot(update, SnapshotKind.OPENED)  # before the rows
        row = EventRow(
            camera_id=update.camera_id,
            camera_name=self._camera_names.get(update.camera_id, update.camera_id),
            cls=update.cls,
            status=EventStatus.OPEN,
            started_at=update.started_at,
            last_seen_at=update.ts,
            peak_score=update.peak_score,
            last_score=update.score,
            regions=regions_to_json(update.regions),
            box=box_to_json(update.box),
            reason=update.reason.value,
            created_at=self._clock(),
        )
        if files is not None:
            row.snapshots.append(self._snapshot_row(files, SnapshotKind.OPENED, update))
        with self._unlink_on_error(update.camera_id, files), self._sessions() as session:
            row.parent_id = self._parent(session, update)
            session.add(row)
            session.flush()  # assigns row.id
            session.add(ScoreRow(event_id=row.id, ts=update.ts, score=update.score))
            self._commit(session, row.id)
        self._open[key] = row.id
        self._remember(key, row.id)
        log.debug(  # the pipeline logs each transition at INFO
            "camera %s: event %d opened (%s, score %.2f)", key[0], row.id, key[1], update.score
        )
        return row.id

    def _parent(self, session: Session, update: EventUpdate) -> int | None:
        """The stored event ``update`` continues or re-alerts, if it names one that exists."""
        parent = update.parent_event
        if parent is None and update.parent_track is not None:
            parent = self._recent.get((update.camera_id, update.cls, update.parent_track))
            if parent is None:
                log.warning(
                    "camera %s: %s episode %d continues episode %d, which is not known here",
                    update.camera_id,
                    update.cls,
                    update.track,
                    update.parent_track,
                )
        if parent is not None and session.get(EventRow, parent) is None:
            log.warning("camera %s: linked event %d does not exist", update.camera_id, parent)
            return None
        return parent

    def _remember(self, key: _Key, event_id: int) -> None:
        self._recent[key] = event_id
        self._recent.move_to_end(key)
        while len(self._recent) > RECENT_EPISODES:
            self._recent.popitem(last=False)

    def _update_event(self, event_id: int, update: EventUpdate) -> None:
        files = None
        if update.is_peak:
            files = self._write_snapshot(update, SnapshotKind.PEAK)
        replaced: SnapshotFiles | None = None
        with self._unlink_on_error(update.camera_id, files), self._sessions() as session:
            row = session.get(EventRow, event_id, options=[selectinload(EventRow.snapshots)])
            if row is None:  # deleted under us; forget the episode
                self._open.pop((update.camera_id, update.cls, update.track), None)
                if files is not None:
                    self._remove_quietly(update.camera_id, files)
                return
            row.last_seen_at = max(row.last_seen_at, update.ts)
            row.last_score = update.score
            row.peak_score = max(row.peak_score, update.peak_score)
            if update.regions:
                row.regions = regions_to_json(update.regions)
            if update.box is not None:
                row.box = box_to_json(update.box)
            session.add(ScoreRow(event_id=event_id, ts=update.ts, score=update.score))
            if files is not None:
                replaced = self._set_peak(row, files, update)
            self._commit(session, event_id)
        if replaced is not None:  # only after the row points at the new files
            self._remove_quietly(update.camera_id, replaced)

    def _set_peak(
        self, row: EventRow, files: SnapshotFiles, update: EventUpdate
    ) -> SnapshotFiles | None:
        """Point the event's peak snapshot row at ``files``; return the files it replaced."""
        new = self._snapshot_row(files, SnapshotKind.PEAK, update)
        for snap in row.snapshots:
            if snap.kind is SnapshotKind.PEAK:
                old = SnapshotFiles(snap.path_annotated, snap.path_clean, snap.width, snap.height)
                for attr in ("ts", "score", "path_annotated", "path_clean", "width", "height"):
                    setattr(snap, attr, getattr(new, attr))
                snap.regions = new.regions
                return old
        row.snapshots.append(new)
        return None

    def _close_event(self, event_id: int, update: EventUpdate) -> None:
        self._open.pop((update.camera_id, update.cls, update.track), None)
        with self._sessions() as session:
            row = session.get(EventRow, event_id)
            if row is None:
                return
            row.ended_at = update.ts
            row.last_score = update.score
            session.add(ScoreRow(event_id=event_id, ts=update.ts, score=update.score))
            self._commit(session, event_id)
        log.debug("camera %s: event %d closed (%s)", update.camera_id, event_id, update.cls)

    def _commit(self, session: Session, event_id: int) -> None:
        if self._receipt is not None:
            self._receipt(session, event_id)
        session.commit()

    @contextmanager
    def _unlink_on_error(self, camera_id: str, files: SnapshotFiles | None) -> Iterator[None]:
        """Delete ``files`` if the database work in the block fails, so none are orphaned."""
        try:
            yield
        except SQLAlchemyError:
            if files is not None:
                self._remove_quietly(camera_id, files)
            raise

    def _remove_quietly(self, camera_id: str, files: SnapshotFiles) -> None:
        try:
            self.snapshots.remove(files)
        except OSError as exc:
            log.warning("camera %s: snapshot files not removed: %s", camera_id, exc)

    def end_at_last_seen(self, ids: list[int] | None = None) -> int:
        """Set ended_at = last_seen_at on active events: ``ids``, or every active event whose
        episode is not open here. Returns how many rows changed."""
        stmt = update(EventRow).where(EventRow.ended_at.is_(None))
        if ids is not None:
            stmt = stmt.where(EventRow.id.in_(ids))
        elif self._open:
            stmt = stmt.where(EventRow.id.not_in(list(self._open.values())))
        with self._sessions() as session:
            result = session.execute(stmt.values(ended_at=EventRow.last_seen_at))
            session.commit()
        return rowcount(result)
