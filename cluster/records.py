"""Recording one message of the events stream in the database, exactly once.

Runs on a worker thread of the API replica that holds the recorder role. A message id
recorded before is skipped (a redelivery, or a repeat outside the stream's duplicate window).
Episodes are numbered by this database (:class:`store.bus_tables.BusEpisodeRow`), so a recorder
that starts (after a restart, or on another replica) continues the events that are open.

A transition and its message id are committed in one transaction (a receipt,
:data:`store.recorder.Receipt`), so a recorder killed at any moment has recorded a message
wholly or not at all, and a redelivery after it either finds the id or records it once. A
message that changes no event (the close of an episode the store does not know) gets its id in
a transaction of its own.

A worker publishes an episode's opening before anything else of it, but the stream does not
keep that order on the way to the recorder: the opening may still be in the hand of a replica
that just lost the recorder role, or on its way back to the stream after a refusal, while a
later update of the episode is delivered. Such a transition is held back
(:class:`OpeningNotRecorded`, delivered again) until its opening is recorded, so one episode
stays one event; after :data:`OPENING_WAIT_S` it opens an event of its own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cluster.messages import HeldMessage, TransitionMessage, to_update
from cluster.metrics import BusCounters
from detector.types import EventUpdate, Transition
from service.metrics import Metrics
from store.bus_tables import BusEpisodeRow, BusTransitionRow
from store.db import EventRow
from store.events import EventStore
from streams.frame import Frame

log = logging.getLogger(__name__)
#: How long a transition waits for its episode's opening (seconds): longer than the
#: acknowledgement wait after which an opening held by a dead recorder is delivered again.
OPENING_WAIT_S = 90.0


class OpeningNotRecorded(Exception):
    """A transition came before its episode's opening was recorded: deliver it again."""


def episode_key(msg: TransitionMessage, track: int) -> str:
    """One episode of one run of a camera in one worker process."""
    return f"{msg.incarnation}.{msg.run}/{msg.camera_id}/{msg.cls}/{track}"


class BusRecords:
    """Transitions and hand-overs from the bus, into the event store."""

    def __init__(
        self,
        store: EventStore,
        metrics: Metrics,
        counters: BusCounters,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._counters = counters
        self._clock = clock
        self._sessions = sessionmaker(store.engine, expire_on_commit=False)
        self._held_back: dict[str, float] = {}  # message id -> when it was first held back

    def seen(self, msg_id: str) -> bool:
        with self._sessions() as session:
            return session.get(BusTransitionRow, msg_id) is not None

    def skip_seen(self, msg: TransitionMessage | HeldMessage) -> bool:
        """True (and counted) when ``msg`` was recorded before."""
        if not self.seen(msg.id):
            return False
        self._counters.duplicates.inc()
        return True

    def transition(self, msg: TransitionMessage, frame: Frame | None) -> int | None:
        """Record ``msg`` (its frame decoded from the snapshot, if any); the event id."""
        if self.skip_seen(msg):
            return None
        key = episode_key(msg, msg.track)
        with self._sessions() as session:
            episode = self._episode(session, key, msg)
            if msg.transition is not Transition.OPENED and episode.event_id is None:
                self._hold_back(msg)
            self._held_back.pop(msg.id, None)
            active = _active_event(session, episode.event_id)
            parent = msg.parent_event
            if parent is None and msg.parent_track is not None:
                parent_key = episode_key(msg, msg.parent_track)
                parent = session.scalar(
                    select(BusEpisodeRow.event_id).where(BusEpisodeRow.key == parent_key)
                )
            session.commit()
        if active is not None and msg.transition is not Transition.OPENED:
            self._store.adopt_episode(msg.camera_id, msg.cls, episode.id, active)
        update = replace(to_update(msg, frame, episode.id), parent_event=parent)
        opened = episode.id if msg.transition is Transition.OPENED else None
        receipts: list[int] = []

        def receipt(session: Session, event_id: int) -> None:
            _mark_done(session, msg.id, event_id, opened, self._clock())
            receipts.append(event_id)

        event_id = self._store.record(update, receipt)
        if not receipts:  # nothing changed: the id alone
            self._done(msg.id, event_id, None)
        self._metrics.observe_event(update)
        self._counters.recorded.inc()
        self._counters.lag.observe(max(0.0, self._clock() - msg.sent_at))
        return event_id

    def _hold_back(self, msg: TransitionMessage) -> None:
        """Raise :class:`OpeningNotRecorded` unless ``msg`` waited long enough already."""
        now = self._clock()
        if msg.id not in self._held_back:
            self._held_back[msg.id] = now
            self._counters.held_back.inc()
            log.info("camera %s: %s %s before its opening was recorded, held back",
                     msg.camera_id, msg.cls, msg.transition.value)  # fmt: skip
        if now - self._held_back[msg.id] < OPENING_WAIT_S:
            raise OpeningNotRecorded(msg.id)
        log.warning("camera %s: the opening of a %s episode never came", msg.camera_id, msg.cls)

    def held(self, msg: HeldMessage) -> int:
        """A worker took a camera: end the events other processes left open on it."""
        if self.skip_seen(msg):
            return 0
        query = (
            select(BusEpisodeRow.id, EventRow)
            .join(EventRow, EventRow.id == BusEpisodeRow.event_id)
            .where(
                BusEpisodeRow.camera_id == msg.camera_id,
                BusEpisodeRow.incarnation != msg.incarnation,
                EventRow.ended_at.is_(None),
            )
        )
        with self._sessions() as session:
            left = [(int(track), row) for track, row in session.execute(query)]
        for track, row in left:
            self._store.adopt_episode(row.camera_id, row.cls, track, row.id)
            self._store.record(_close(row, track))
        if left:
            log.info("camera %s: %d event(s) of a previous worker ended", msg.camera_id, len(left))
        self._done(msg.id, None, None)
        return len(left)

    def _episode(self, session: Session, key: str, msg: TransitionMessage) -> BusEpisodeRow:
        row = session.scalar(select(BusEpisodeRow).where(BusEpisodeRow.key == key))
        if row is None:
            row = BusEpisodeRow(key=key, camera_id=msg.camera_id, incarnation=msg.incarnation)
            session.add(row)
            session.flush()
        return row

    def _done(self, msg_id: str, event_id: int | None, opened_episode: int | None) -> None:
        with self._sessions() as session:
            _mark_done(session, msg_id, event_id, opened_episode, self._clock())
            session.commit()


def _mark_done(
    session: Session, msg_id: str, event_id: int | None, opened_episode: int | None, now: float
) -> None:
    """Note message ``msg_id`` as recorded (and the event an opening made, on its episode)."""
    session.add(BusTransitionRow(id=msg_id, event_id=event_id, recorded_at=now))
    if opened_episode is not None and event_id is not None:
        episode = session.get(BusEpisodeRow, opened_episode)
        if episode is not None:
            episode.event_id = event_id


def _active_event(session: Session, event_id: int | None) -> int | None:
    if event_id is None:
        return None
    ended = session.scalar(select(EventRow.ended_at).where(EventRow.id == event_id))
    row_exists = session.get(EventRow, event_id) is not None
    return event_id if row_exists and ended is None else None


def _close(row: EventRow, track: int) -> EventUpdate:
    """The close of an episode whose worker is gone, at the last time it was seen."""
    return EventUpdate(
        camera_id=row.camera_id,
        cls=row.cls,
        transition=Transition.CLOSED,
        started_at=row.started_at,
        ts=row.last_seen_at,
        score=row.last_score,
        peak_score=row.peak_score,
        track=track,
    )
