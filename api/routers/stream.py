"""Live event feed for the console: Server-Sent Events fed by :meth:`EventStore.add_listener`.

Each message is ``event: event`` with ``data: {"change": ..., "event": EventOut}``; a
``: heartbeat`` comment every :data:`HEARTBEAT_S` keeps proxies from closing an idle
connection; ``event: resync`` tells a client that fell behind to reload its list. A stream ends
after :data:`MAX_STREAM_S` and the browser's EventSource reconnects (``retry``), which also
re-checks the session.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.auth import AUTH_RESPONSES, RequireViewer
from api.deps import StoreDep
from api.schemas.common import EVENTS_PATH
from api.schemas.events import EventOut
from store.events import EventChange, EventNotFound, EventStore

log = logging.getLogger(__name__)
# Registered before api.routers.events (see create_app): /stream is not an event id.
router = APIRouter(prefix=EVENTS_PATH, tags=["events"], responses=AUTH_RESPONSES)

HEARTBEAT_S = 15.0
MAX_STREAM_S = 300.0
RETRY_MS = 2000
# Changes a slow client may have pending before it is told to resync instead.
QUEUE_SIZE = 256
# Rendered changes kept for the streams that have not sent them yet.
RENDERED_KEPT = 64


@dataclass(frozen=True, slots=True)
class Published:
    """A committed change and its place in the broadcaster's sequence (one render per place)."""

    seq: int
    change: EventChange


@dataclass(eq=False)
class Subscriber:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Published] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False

    def put(self, change: Published) -> None:
        """On the subscriber's loop: queue the change, or remember that one was lost."""
        try:
            self.queue.put_nowait(change)
        except asyncio.QueueFull:
            self.overflowed = True


class Broadcaster:
    """Fans committed event changes out to the open streams (thread-safe).

    Each change is read from the store once for all streams (:meth:`render`), not once per
    stream: with 50 consoles open, one event update was 50 reads queued ahead of every request.
    """

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._subscribers: set[Subscriber] = set()
        self._seq = 0
        # (loop, seq) -> the event as sent, read once; touched on that loop only.
        self._rendered: OrderedDict[tuple[int, int], asyncio.Future[dict[str, object] | None]]
        self._rendered = OrderedDict()

    def publish(self, change: EventChange) -> None:
        """The store's listener: runs on the writing thread, hands over to each stream's loop."""
        with self._lock:
            self._seq += 1
            published = Published(self._seq, change)
            subs = list(self._subscribers)
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(sub.put, published)
            except RuntimeError:  # that loop has closed; the stream's finally will unsubscribe
                continue

    def subscribe(self) -> Subscriber:
        sub = Subscriber(asyncio.get_running_loop())
        with self._lock:
            self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    async def render(self, published: Published) -> dict[str, object] | None:
        """The event of ``published`` as in ``GET /api/events``; None once it is gone."""
        key = (id(asyncio.get_running_loop()), published.seq)
        future = self._rendered.get(key)
        if future is None:
            future = asyncio.ensure_future(self._read(published.change.event_id))
            self._rendered[key] = future
            while len(self._rendered) > RENDERED_KEPT:
                self._rendered.popitem(last=False)
        return await asyncio.shield(future)

    async def _read(self, event_id: int) -> dict[str, object] | None:
        try:
            record = await run_in_threadpool(self._store.get_event, event_id)
        except EventNotFound:
            return None
        return EventOut.of(record).model_dump(mode="json")


def broadcaster_of(request: Request, store: EventStore) -> Broadcaster:
    """The app's broadcaster, registered with the store on first use."""
    state = request.app.state
    existing: Broadcaster | None = getattr(state, "broadcaster", None)
    if existing is None:
        existing = Broadcaster(store)
        store.add_view_listener(existing.publish)  # also what other replicas committed
        state.broadcaster = existing
    return existing


def _message(kind: str, data: object, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _drain(sub: Subscriber, first: Published) -> list[Published]:
    """``first`` and every change already queued, one per event (the last change wins)."""
    latest = {first.change.event_id: first}
    while not sub.queue.empty():
        published = sub.queue.get_nowait()
        latest.pop(published.change.event_id, None)
        latest[published.change.event_id] = published
    return list(latest.values())


async def _messages(
    broadcaster: Broadcaster, sub: Subscriber, request: Request
) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + MAX_STREAM_S
    yield f"retry: {RETRY_MS}\n\n: connected\n\n"
    while loop.time() < deadline and not await request.is_disconnected():
        try:
            first = await asyncio.wait_for(sub.queue.get(), HEARTBEAT_S)
        except TimeoutError:
            yield ": heartbeat\n\n"
            continue
        if sub.overflowed:
            sub.overflowed = False
            yield _message("resync", {})
        for published in _drain(sub, first):
            event = await broadcaster.render(published)
            if event is not None:
                data = {"change": str(published.change.change), "event": event}
                yield _message("event", data, published.change.event_id)


@router.get(
    "/stream",
    summary="Live event changes (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "An SSE stream."}},
)
async def stream(request: Request, store: StoreDep, _user: RequireViewer) -> StreamingResponse:
    """``event: event`` per change (``change`` is opened, updated, closed, confirm or dismiss,
    ``event`` the event as in ``GET /api/events``); heartbeats as SSE comments."""
    broadcaster = broadcaster_of(request, store)
    sub = broadcaster.subscribe()

    async def body() -> AsyncIterator[str]:
        try:
            async for chunk in _messages(broadcaster, sub, request):
                yield chunk
        finally:
            broadcaster.unsubscribe(sub)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body(), media_type="text/event-stream", headers=headers)
