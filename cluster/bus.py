"""The connection to NATS and the JetStream layout every node relies on.

The client reconnects forever (a restarted server or a moved cluster member is waited for, not
given up on) and, at start, waits for the first server the same way. Buckets, the events stream
and the object store are created by whichever node comes first; later nodes find them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

import nats
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError
from nats.js.kv import KeyValue
from nats.js.object_store import ObjectStore

from cluster import settings as names
from cluster.metrics import BusCounters
from cluster.settings import ClusterSettings

log = logging.getLogger(__name__)
T = TypeVar("T")
#: Waits between connection attempts at start (seconds); the client's own reconnects use 0.5 s.
_START_BACKOFF_S = (0.2, 0.5, 1.0, 2.0)
#: Snapshots not fetched within this long are dropped by the server (the recorder is down for
#: longer than any outage it is meant to ride out).
SNAPSHOT_MAX_AGE_S = 7 * 24 * 3600.0
#: How long closing waits for the server to confirm what was sent (seconds).
CLOSE_WAIT_S = 2.0
#: Entries fetched at once when a bucket is read whole.
_READ_BATCH = 512


BUS_ERRORS: tuple[type[BaseException], ...] = (NatsError, NatsTimeout, OSError, TimeoutError)


@dataclass
class Bus:
    """A connected node: the client, JetStream, and the buckets by role."""

    nc: Client
    js: JetStreamContext
    leases: KeyValue
    workers: KeyValue
    roles: KeyValue
    cameras: KeyValue
    mutes: KeyValue
    status: KeyValue
    snapshots: ObjectStore

    async def close(self) -> None:
        """Flush what was published and close; a bus that is away is not waited for."""
        try:
            await asyncio.wait_for(self.nc.flush(), CLOSE_WAIT_S)
        except BUS_ERRORS as exc:
            log.warning("bus: not flushed at close: %s", type(exc).__name__)
        await self.nc.close()


async def _open_client(settings: ClusterSettings, counters: BusCounters) -> Client:
    client: list[Client] = []  # the callbacks run after connect() returned it

    async def disconnected() -> None:
        if client and client[0].is_closed:
            return  # closed on purpose
        counters.disconnects.inc()
        log.warning("bus: disconnected, reconnecting")

    async def reconnected() -> None:
        counters.reconnects.inc()
        log.info("bus: reconnected")

    async def error(exc: Exception) -> None:
        log.debug("bus: %s", exc)

    attempt = 0
    while True:
        try:
            nc = await nats.connect(
                servers=settings.servers,
                name=settings.name,
                max_reconnect_attempts=-1,  # forever
                reconnect_time_wait=0.5,
                connect_timeout=2,
                disconnected_cb=disconnected,
                reconnected_cb=reconnected,
                error_cb=error,
            )
            client.append(nc)
            return nc
        except (OSError, NatsError) as exc:
            wait = _START_BACKOFF_S[min(attempt, len(_START_BACKOFF_S) - 1)]
            log.warning("bus: cannot connect (%s), again in %.1f s", type(exc).__name__, wait)
            attempt += 1
            await asyncio.sleep(wait)


async def _bucket(js: JetStreamContext, name: str, ttl: float | None) -> KeyValue:
    try:
        return await js.create_key_value(KeyValueConfig(bucket=name, history=1, ttl=ttl))
    except BadRequestError:  # made by another node with other settings: use it as it is
        return await js.key_value(name)


async def _layout(js: JetStreamContext, settings: ClusterSettings) -> None:
    stream = StreamConfig(
        name=names.EVENTS_STREAM,
        subjects=[f"{names.EVENTS_SUBJECT}.>"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        duplicate_window=settings.duplicate_window_s,
    )
    try:
        await js.add_stream(stream)
    except BadRequestError:
        await js.update_stream(stream)


async def connect(settings: ClusterSettings, counters: BusCounters) -> Bus:
    """Connect (waiting for a server as long as it takes) and make sure the layout exists."""
    nc = await _open_client(settings, counters)
    js = nc.jetstream(timeout=5)
    await _layout(js, settings)
    ttl = settings.lease_ttl_s
    try:
        snapshots = await js.object_store(names.SNAPSHOTS)
    except NatsError:
        snapshots = await js.create_object_store(names.SNAPSHOTS, ttl=SNAPSHOT_MAX_AGE_S)
    bus = Bus(
        nc,
        js,
        leases=await _bucket(js, names.LEASES, ttl),
        workers=await _bucket(js, names.WORKERS, ttl),
        roles=await _bucket(js, names.ROLES, ttl),
        cameras=await _bucket(js, names.CAMERAS, None),
        mutes=await _bucket(js, names.MUTES, None),
        status=await _bucket(js, names.STATUS, ttl),
        snapshots=snapshots,
    )
    where = nc.connected_url
    # Host and port only: the URL may carry the bus account's password.
    address = f"{where.hostname}:{where.port}" if where is not None else "?"
    log.info("bus: connected to %s as %s", address, settings.name)
    return bus


async def entries(js: JetStreamContext, bucket: str, timeout: float = 5.0) -> dict[str, bytes]:
    """Every live key of ``bucket`` with its latest value, read in one pass.

    Through a short-lived pull consumer that counts what is left: a key-value watcher may
    announce the end of the initial values before it delivered them, which would read a bucket
    as (partly) empty.
    """
    prefix = f"$KV.{bucket}."
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
        ack_policy=AckPolicy.NONE,
        inactive_threshold=60.0,  # removed by the server should the delete below not arrive
    )
    sub = await js.pull_subscribe(f"{prefix}>", stream=f"KV_{bucket}", config=config)
    out: dict[str, bytes] = {}
    name = None
    try:
        info = await sub.consumer_info()
        name, pending = info.name, info.num_pending or 0
        while pending > 0:
            for msg in await sub.fetch(min(pending, _READ_BATCH), timeout=timeout):
                key = msg.subject[len(prefix) :]
                if msg.headers and msg.headers.get("KV-Operation") in ("DEL", "PURGE"):
                    out.pop(key, None)
                else:
                    out[key] = msg.data
                pending = msg.metadata.num_pending
    finally:
        if name is not None:
            with contextlib.suppress(*BUS_ERRORS):
                await js.delete_consumer(f"KV_{bucket}", name)
        await quietly("unsubscribe", sub.unsubscribe())
    return out


class BucketCache:
    """A bucket read whole, read again only when something was written to it since (its
    stream's last sequence moved): for buckets that change rarely, such as the cameras."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        self.values: dict[str, bytes] = {}
        self.reads = 0  # whole reads so far
        self._seq: int | None = None

    async def refresh(self, js: JetStreamContext) -> dict[str, bytes]:
        seq = (await js.stream_info(f"KV_{self.bucket}")).state.last_seq
        if seq != self._seq:  # a write since may be read now and read again next time
            self.values = await entries(js, self.bucket)
            self._seq = seq
            self.reads += 1
        return self.values


class LoopThread:
    """An asyncio loop on its own thread, for callers that are threads (the API's lifespan,
    the pipeline's scoring threads)."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        return self.submit(coro).result(timeout)

    def call_soon(self, fn: Callable[[], object]) -> None:
        self.loop.call_soon_threadsafe(fn)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


async def wait_or_timeout(event: asyncio.Event, seconds: float) -> bool:
    """True when ``event`` was set within ``seconds``."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
        return True
    except TimeoutError:
        return False


async def quietly(what: str, action: Awaitable[T]) -> T | None:
    """Await ``action``; a bus error is logged (the connection comes back) and gives None."""
    try:
        return await action
    except BUS_ERRORS as exc:
        log.warning("bus: %s failed: %s", what, type(exc).__name__)
        return None
