"""The recorder role: one API replica at a time pulls the events stream into the database.

The durable consumer remembers what was acknowledged, so a recorder that was down (every API
replica stopped) resumes where it stopped and the workers lose nothing meanwhile. Messages are
handled one at a time, in stream order, and acknowledged only after the commit; a message that
cannot be stored (the database is down), or that came before its episode's opening was
recorded, is not acknowledged and comes again; the messages after it wait, in order.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import ObjectNotFoundError
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from cluster.bus import BUS_ERRORS, Bus, quietly
from cluster.messages import MESSAGE, HeldMessage, TransitionMessage, decode_frame
from cluster.metrics import BusCounters
from cluster.records import BusRecords, OpeningNotRecorded
from cluster.settings import EVENTS_STREAM, EVENTS_SUBJECT, RECORDER
from streams.frame import Frame

log = logging.getLogger(__name__)
#: Messages fetched at once, and how long a fetch waits for the first (seconds).
BATCH = 32
FETCH_WAIT_S = 1.0
#: A message not acknowledged for this long is delivered again (a recorder that died on it).
ACK_WAIT_S = 60.0
#: Wait after the database refused a transition, before it is delivered again (seconds).
RETRY_S = 1.0
#: How long a snapshot fetch may take, and from which delivery on a message that still cannot
#: fetch its snapshot is recorded without it.
SNAPSHOT_WAIT_S = 10.0
SNAPSHOT_TRIES = 3
#: What makes a message come again rather than be dropped: the database or the bus failed.
_RETRIED: tuple[type[BaseException], ...] = (SQLAlchemyError, *BUS_ERRORS)


async def _subscribe(bus: Bus) -> Any:
    config = ConsumerConfig(
        durable_name=RECORDER,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=ACK_WAIT_S,
        max_ack_pending=BATCH,
    )
    return await bus.js.pull_subscribe(
        f"{EVENTS_SUBJECT}.>", durable=RECORDER, stream=EVENTS_STREAM, config=config
    )


async def _frame(bus: Bus, msg: TransitionMessage, delivered: int) -> Frame | None:
    """The message's frame from the object store. A fetch that does not finish (the client
    can wait forever on an object deleted while it read it) is tried again with the message,
    and from its :data:`SNAPSHOT_TRIES`-th delivery on the transition goes without it."""
    if msg.snapshot is None:
        return None
    try:
        result = await asyncio.wait_for(bus.snapshots.get(msg.snapshot), SNAPSHOT_WAIT_S)
    except ObjectNotFoundError:
        log.warning("camera %s: snapshot %s is gone from the bus", msg.camera_id, msg.snapshot)
        return None
    except TimeoutError:
        if delivered < SNAPSHOT_TRIES:
            raise
        log.warning("camera %s: snapshot %s could not be read, recorded without it",
                    msg.camera_id, msg.snapshot)  # fmt: skip
        return None
    return decode_frame(result.data or b"", msg) if result.data else None


async def _handle(bus: Bus, records: BusRecords, counters: BusCounters, raw: Any) -> bool:
    """Record one delivery; False when it must come again (the database or the bus failed)."""
    if raw.metadata.num_delivered > 1:
        counters.redeliveries.inc()
    try:
        body = MESSAGE.validate_json(raw.data)
    except ValidationError as exc:
        log.error("bus: unreadable message on %s dropped: %s", raw.subject, exc)
        await quietly("term", raw.term())
        return True
    try:
        if isinstance(body, HeldMessage):
            await asyncio.to_thread(records.held, body)
        elif not await asyncio.to_thread(records.skip_seen, body):  # before its snapshot
            frame = await _frame(bus, body, raw.metadata.num_delivered)
            await asyncio.to_thread(records.transition, body, frame)
    except OpeningNotRecorded:
        await quietly("nak", raw.nak(delay=RETRY_S))
        return False
    except _RETRIED as exc:
        log.error("camera %s: not recorded, again in %.0f s: %s", body.camera_id, RETRY_S,
                  type(exc).__name__)  # fmt: skip
        await quietly("nak", raw.nak(delay=RETRY_S))
        return False
    # Committed: an acknowledgement lost on the way is a redelivery, skipped as recorded.
    await quietly("ack", raw.ack())
    if isinstance(body, TransitionMessage) and body.snapshot is not None:
        await quietly("snapshot delete", bus.snapshots.delete(body.snapshot))
    return True


async def _give_back(batch: list[Any]) -> None:
    """Deliver these again soon, instead of after the acknowledgement wait."""
    for raw in batch:
        await quietly("nak", raw.nak(delay=RETRY_S))


async def record_until(
    bus: Bus, records: BusRecords, counters: BusCounters, done: asyncio.Event
) -> None:
    """Pull and record until ``done`` is set (this replica stops or lost the recorder role);
    the message in hand is finished first."""
    sub = None
    while not done.is_set():
        try:
            if sub is None:
                sub = await _subscribe(bus)
            batch = await sub.fetch(BATCH, timeout=FETCH_WAIT_S)
        except BUS_ERRORS:  # nothing new, or the bus is away: it comes back
            await asyncio.sleep(0.1)
            continue
        for i, raw in enumerate(batch):
            if done.is_set():
                await _give_back(batch[i:])  # to the next recorder, at once
                break
            if not await _handle(bus, records, counters, raw):
                await _give_back(batch[i + 1 :])  # after the one that failed, in order
                await asyncio.sleep(RETRY_S)
                break
    if sub is not None:
        await quietly("unsubscribe", sub.unsubscribe())
