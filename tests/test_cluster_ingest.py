"""Transitions from a worker's publisher through a real JetStream server into the database:
snapshots travel in the object store, a repeat is recorded once, and what the database
refused comes again until it is committed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, text

from cluster.bus import Bus, connect
from cluster.ingest import _subscribe, record_until
from cluster.messages import MESSAGE, TransitionMessage, transition_message
from cluster.metrics import BusCounters
from cluster.outgoing import Outgoing, Publisher
from cluster.records import BusRecords
from cluster.settings import EVENTS_SUBJECT, ClusterSettings
from detector.types import Transition
from service.metrics import Metrics
from store.db import init_db, make_engine
from store.events import EventStore
from streams.frame import Frame
from tests.fixtures.app import T0, make_update
from tests.fixtures.nats import NatsServer


async def _until(check: object, what: str, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


REFUSE = """CREATE TRIGGER refuse_scores BEFORE INSERT ON event_scores
BEGIN SELECT RAISE(ABORT, 'the disk is full'); END"""


def _run_sql(engine: Engine, sql: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql))


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


@dataclass(frozen=True)
class _Line:
    """A worker's publisher and the API's recorder on one bus."""

    bus: Bus
    publisher: Publisher
    metrics: Metrics


@asynccontextmanager
async def _line(server: NatsServer, store: EventStore) -> AsyncIterator[_Line]:
    metrics = Metrics()
    counters = BusCounters(metrics.registry)
    bus: Bus = await connect(ClusterSettings(bus=server.url, name="t"), counters)
    publisher = Publisher(asyncio.get_running_loop(), counters, worker="w1",
                          incarnation="inc", runs={"ridge": "1"})  # fmt: skip
    sending = asyncio.create_task(publisher.run(bus))
    done = asyncio.Event()
    recording = asyncio.create_task(
        record_until(bus, BusRecords(store, metrics, counters), counters, done)
    )
    try:
        yield _Line(bus, publisher, metrics)
    finally:
        done.set()
        await recording
        sending.cancel()
        await bus.close()


async def _scenario(server: NatsServer, engine: Engine, store: EventStore) -> None:
    async with _line(server, store) as line:
        publisher, metrics = line.publisher, line.metrics
        publisher.sink(make_update("ridge", Transition.OPENED, T0))
        await _until(lambda: _count(engine, "bus_transitions") == 1, "the opening recorded")
        # The database refuses the next transitions (off the loop: the recorder runs on it).
        await asyncio.to_thread(_run_sql, engine, REFUSE)
        update = make_update("ridge", Transition.UPDATED, T0 + 5, score=0.9, peak_score=0.9)
        msg = transition_message(update, msg_id="update-1", worker="w1", incarnation="inc",
                                 sent_at=T0 + 5, run="1")  # fmt: skip
        publisher.put(Outgoing(msg, update.frame))
        publisher.put(Outgoing(msg))  # the same id: the stream keeps one
        assert await publisher.flush(10)
        body = msg.model_dump_json().encode()  # without an id: only the recorder can tell
        await line.bus.js.publish(f"{EVENTS_SUBJECT}.ridge", body)
        await asyncio.sleep(1.5)
        assert _count(engine, "bus_transitions") == 1  # not recorded, so not acknowledged
        await asyncio.to_thread(_run_sql, engine, "DROP TRIGGER refuse_scores")
        await _until(lambda: sample(metrics, "duplicates") == 1, "the repeat skipped")
        assert _count(engine, "bus_transitions") == 2
        assert sample(metrics, "redeliveries") >= 1


def _database(tmp_path: Path) -> tuple[Engine, EventStore]:
    """A fresh SQLite database and the event store on it."""
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    init_db(engine)
    return engine, EventStore(engine, tmp_path / "snaps")


def sample(metrics: Metrics, name: str) -> float:
    return metrics.registry.get_sample_value(f"emberwatch_bus_{name}_total") or 0.0


def test_transitions_are_recorded_once_and_only_after_the_commit(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    engine, store = _database(tmp_path)
    asyncio.run(asyncio.wait_for(_scenario(nats_server, engine, store), 60))
    (event,), total = store.list_events(limit=10)
    assert total == 1 and event.peak_score == 0.9
    assert store.snapshot_path(event.id).read_bytes()[:2] == b"\xff\xd8"


async def _bad_frame(server: NatsServer, engine: Engine, store: EventStore) -> None:
    async with _line(server, store) as line:
        empty = Frame("ridge", T0, 0, np.zeros((0, 0, 3), dtype=np.uint8))
        line.publisher.sink(make_update("ridge", Transition.OPENED, T0, frame=empty))
        line.publisher.sink(make_update("ridge", Transition.CLOSED, T0 + 9, frame=None))
        await _until(lambda: _count(engine, "bus_transitions") == 2, "both recorded")


def test_a_frame_that_cannot_be_encoded_sends_the_transition_without_it(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    engine, store = _database(tmp_path)
    asyncio.run(asyncio.wait_for(_bad_frame(nats_server, engine, store), 60))
    (event,), _ = store.list_events(limit=10)
    assert event.ended_at == T0 + 9 and event.snapshots == ()


async def _opening_in_another_hand(server: NatsServer, engine: Engine, store: EventStore) -> None:
    """A replica that lost the recorder role still holds the opening when the new recorder is
    delivered the update after it."""
    async with _line(server, store) as line:
        leaving = await _subscribe(line.bus)  # the same durable consumer, another replica
        line.publisher.sink(make_update("ridge", Transition.OPENED, T0))
        (opening,) = await leaving.fetch(1, timeout=10)
        line.publisher.sink(make_update("ridge", Transition.UPDATED, T0 + 5, score=0.9,
                                        peak_score=0.9))  # fmt: skip
        await _until(lambda: sample(line.metrics, "redeliveries") or _count(engine, "events"),
                     "the update delivered")  # fmt: skip
        assert _count(engine, "events") == 0, "the update opened an event of its own"
        body = MESSAGE.validate_json(opening.data)
        assert isinstance(body, TransitionMessage)
        metrics = Metrics()
        leaving_store = EventStore(engine, store.snapshots.root)  # another replica, same database
        leaving_records = BusRecords(leaving_store, metrics, BusCounters(metrics.registry))
        await asyncio.to_thread(leaving_records.transition, body, None)
        await opening.ack()
        await _until(lambda: _count(engine, "bus_transitions") == 2, "the update recorded")


def test_an_update_delivered_before_its_opening_is_recorded_continues_that_event(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    engine, store = _database(tmp_path)
    asyncio.run(asyncio.wait_for(_opening_in_another_hand(nats_server, engine, store), 60))
    (event,), total = store.list_events(limit=10)
    assert total == 1 and event.peak_score == 0.9
