"""Leases in a key-value bucket whose time to live is the lease time.

Taking a lease creates its key, which fails when the key exists: only one node holds it.
Renewing rewrites the value on the revision this node wrote last, which fails when the lease ran
out and someone else took it. A holder that stops renewing loses the key to the bucket's age
limit, and the others see the camera free on their next read.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from cluster.bus import BUS_ERRORS, entries
from cluster.settings import LEASES

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Lease:
    """Who holds ``key`` (``holder``: a node name; ``incarnation``: its process) since when."""

    key: str
    holder: str
    incarnation: str
    since: float  # epoch seconds when it was taken

    def encode(self) -> bytes:
        body = {"holder": self.holder, "incarnation": self.incarnation, "since": self.since}
        return json.dumps(body).encode()

    @classmethod
    def decode(cls, key: str, raw: bytes) -> Lease | None:
        try:
            body = json.loads(raw)
            return cls(key, str(body["holder"]), str(body["incarnation"]), float(body["since"]))
        except (ValueError, KeyError, TypeError):
            log.warning("lease %s: unreadable value ignored", key)
            return None


async def read_leases(js: JetStreamContext, bucket: str = LEASES) -> dict[str, Lease]:
    """Every live lease of the bucket."""
    out = {}
    for key, value in (await entries(js, bucket)).items():
        lease = Lease.decode(key, value)
        if lease is not None:
            out[key] = lease
    return out


class LeaseTable:
    """The leases this process holds in one bucket, with the revision of each."""

    def __init__(self, kv: KeyValue, holder: str, incarnation: str) -> None:
        self._kv = kv
        self.holder = holder
        self.incarnation = incarnation
        self._held: dict[str, tuple[Lease, int]] = {}

    @property
    def held(self) -> dict[str, Lease]:
        return {key: lease for key, (lease, _) in self._held.items()}

    def mine(self, lease: Lease) -> bool:
        return lease.holder == self.holder and lease.incarnation == self.incarnation

    async def acquire(self, key: str, now: float) -> Lease | None:
        """Take ``key`` if nobody holds it; the lease, or None when someone does."""
        lease = Lease(key, self.holder, self.incarnation, now)
        try:
            revision = await self._kv.create(key, lease.encode())
        except KeyWrongLastSequenceError:
            return None
        self._held[key] = (lease, revision)
        return lease

    async def renew(self) -> list[str]:
        """Renew every held lease; return the keys lost (ran out, or taken by another)."""
        lost = []
        for key, (lease, revision) in list(self._held.items()):
            try:
                new = await self._kv.update(key, lease.encode(), last=revision)
            except (KeyWrongLastSequenceError, KeyNotFoundError):
                self._held.pop(key, None)
                lost.append(key)
                continue
            self._held[key] = (lease, new)
        return lost

    async def release(self, key: str) -> None:
        """Let go of ``key`` (only if it is still this process's)."""
        held = self._held.pop(key, None)
        if held is None:
            return
        try:
            await self._kv.delete(key, last=held[1])
        except (KeyWrongLastSequenceError, KeyNotFoundError):
            pass  # ran out already
        except BUS_ERRORS as exc:  # it runs out by itself
            log.warning("lease %s: not released (%s), it will run out", key, type(exc).__name__)

    async def release_all(self) -> None:
        for key in list(self._held):
            await self.release(key)
