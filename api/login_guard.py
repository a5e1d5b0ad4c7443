"""Login attempts limited per (user name, client address), and password hashing on a small pool.

An attempt is counted when it arrives, before its password is checked: 100 concurrent guesses
with a limit of 5 give at most 5 answers of 401, then 429, however the requests interleave. The
key includes the client's address, so a guesser locks out only itself, never the account's owner
at another address. Entries are forgotten once their window has passed, and at most
``tracked_clients`` are kept (the least recently tried go first), so memory stays bounded.

argon2 takes ~64 MiB and tens of milliseconds per password. Run on the request thread pool, a
login flood hashed 40 at a time (2.3 GB, other endpoints starved); :class:`HashPool` runs them on
``hash_threads`` threads with a bounded queue, and refuses beyond it (:class:`PoolBusy`).

The client address is the socket's peer. Behind a reverse proxy, set
``server.forwarded_allow_ips`` so the proxy's ``X-Forwarded-For`` is believed; from anyone else
it is ignored, so a client cannot pick its own address.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, HTTPException, Request, status

from api.auth_config import AuthConfig

P = ParamSpec("P")
T = TypeVar("T")

#: (user name as sent, client address)
AttemptKey = tuple[str, str]


class AttemptLimiter:
    """At most ``max_attempts`` unsuccessful attempts per key within ``window_s`` seconds.

    Times are arguments (a monotonic clock in the service), so tests need no sleeping::

        >>> limiter = AttemptLimiter(max_attempts=2, window_s=60, max_keys=100)
        >>> [limiter.admit(("ann", "10.0.0.9"), now=0.0) for _ in range(3)]
        [0.0, 0.0, 60.0]
        >>> limiter.admit(("ann", "10.0.0.7"), now=0.0)  # another address: not affected
        0.0
        >>> limiter.admit(("ann", "10.0.0.9"), now=61.0)  # the window has passed
        0.0
    """

    def __init__(self, max_attempts: int, window_s: float, max_keys: int) -> None:
        self.max_attempts, self.window_s, self.max_keys = max_attempts, window_s, max_keys
        self._lock = threading.Lock()
        # Least recently tried first: expiry and eviction both take from the front.
        self._attempts: OrderedDict[AttemptKey, deque[float]] = OrderedDict()

    def admit(self, key: AttemptKey, now: float) -> float:
        """0.0 when an attempt may go ahead (it is counted now); else seconds to wait."""
        with self._lock:
            self._forget(now)
            recent = self._attempts.get(key)
            if recent is None:
                recent = self._attempts[key] = deque(maxlen=self.max_attempts)
            while recent and now - recent[0] >= self.window_s:
                recent.popleft()
            if len(recent) >= self.max_attempts:
                return self.window_s - (now - recent[0])
            recent.append(now)
            self._attempts.move_to_end(key)
            while len(self._attempts) > self.max_keys:
                self._attempts.popitem(last=False)
            return 0.0

    def forgive(self, key: AttemptKey) -> None:
        """Take back one counted attempt of ``key`` that was never checked (the pool was busy)."""
        with self._lock:
            recent = self._attempts.get(key)
            if recent:
                recent.pop()

    def succeeded(self, key: AttemptKey) -> None:
        """The attempt was right: its key starts afresh."""
        with self._lock:
            self._attempts.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._attempts)

    def _forget(self, now: float) -> None:
        while self._attempts:
            key, recent = next(iter(self._attempts.items()))
            if recent and now - recent[-1] < self.window_s:
                return
            del self._attempts[key]


class PoolBusy(Exception):
    """More password checks are waiting than the pool queues."""


class HashPool:
    """Runs password hashing on ``threads`` threads, with at most ``queue`` calls waiting."""

    def __init__(self, threads: int, queue: int) -> None:
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="password-hash")
        self._limit = threads + queue
        self._pending = 0
        self._lock = threading.Lock()

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` on the pool. Raises PoolBusy when the queue is full."""
        with self._lock:
            if self._pending >= self._limit:
                raise PoolBusy("too many logins at once; try again in a moment")
            self._pending += 1
        try:
            return await asyncio.wrap_future(self._executor.submit(fn, *args, **kwargs))
        finally:
            with self._lock:
                self._pending -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True, slots=True)
class LoginGuard:
    """The app's limiter and hashing pool (``app.state.login``)."""

    limiter: AttemptLimiter
    pool: HashPool

    @classmethod
    def create(cls, config: AuthConfig) -> LoginGuard:
        limiter = AttemptLimiter(
            config.max_failures, config.failure_window_s, config.tracked_clients
        )
        return cls(limiter, HashPool(config.hash_threads, config.hash_queue))


# ---------------------------------------------------------------- FastAPI glue


async def get_login_guard(request: Request) -> LoginGuard:
    guard: LoginGuard = request.app.state.login
    return guard


LoginGuardDep = Annotated[LoginGuard, Depends(get_login_guard)]


def client_address(request: Request) -> str:
    """The peer's address (a trusted proxy's X-Forwarded-For has already replaced it)."""
    return request.client.host if request.client else "unknown"


def _busy(exc: PoolBusy) -> HTTPException:
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": "1"}
    )


async def hashed(guard: LoginGuard, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a password hash on the bounded pool; 503 when its queue is full."""
    try:
        return await guard.pool.run(fn, *args, **kwargs)
    except PoolBusy as exc:
        raise _busy(exc) from exc


async def password_attempt(
    guard: LoginGuard,
    key: AttemptKey,
    verify: Callable[[str, str], T | None],
    password: str,
) -> T | None:
    """``verify(name, password)`` on the pool, counted for ``key`` before it runs (429 over
    the limit). A right password clears the key; a refusal for a full pool (503) is not
    counted, since nothing was checked."""
    admit(guard, key)
    try:
        found = await guard.pool.run(verify, key[0], password)
    except PoolBusy as exc:
        guard.limiter.forgive(key)
        raise _busy(exc) from exc
    if found is not None:
        guard.limiter.succeeded(key)
    return found


def admit(guard: LoginGuard, key: AttemptKey) -> None:
    """Count one password attempt for ``key`` before it is checked; 429 over the limit."""
    wait = guard.limiter.admit(key, time.monotonic())
    if wait > 0:
        seconds = math.ceil(wait)
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed logins for {key[0]!r} from this address; try again in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
