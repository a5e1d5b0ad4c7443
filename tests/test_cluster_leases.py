"""Camera leases on a real JetStream server: exclusive, renewed, lost when not renewed."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from cluster.bus import connect
from cluster.leases import LeaseTable, read_leases
from cluster.metrics import BusCounters
from cluster.settings import ClusterSettings
from tests.fixtures.nats import NatsServer

TTL_S = 1.0


def _settings(server: NatsServer, name: str) -> ClusterSettings:
    return ClusterSettings(bus=server.url, name=name, lease_ttl_s=TTL_S)


async def _expiry(server: NatsServer) -> None:
    a_bus = await connect(_settings(server, "a"), BusCounters(CollectorRegistry()))
    b_bus = await connect(_settings(server, "b"), BusCounters(CollectorRegistry()))
    a = LeaseTable(a_bus.leases, "a", "1")
    b = LeaseTable(b_bus.leases, "b", "1")
    try:
        assert await a.acquire("cam-1", 100.0) is not None
        assert await b.acquire("cam-1", 100.0) is None  # exclusive
        for _ in range(3):  # renewed for longer than the time to live: still a's
            await asyncio.sleep(TTL_S / 2)
            assert await a.renew() == []
        assert (await read_leases(b_bus.leases))["cam-1"].holder == "a"
        # a stops renewing: the lease runs out and b takes it; a learns it lost it
        lease = None
        for _ in range(40):
            await asyncio.sleep(TTL_S / 4)
            lease = await b.acquire("cam-1", 200.0)
            if lease is not None:
                break
        assert lease is not None and lease.since == 200.0
        assert await a.renew() == ["cam-1"]
        await a.release("cam-1")  # not a's any more: b's lease stays
        assert (await read_leases(a_bus.leases))["cam-1"].holder == "b"
        await b.release("cam-1")
        assert await read_leases(a_bus.leases) == {}
    finally:
        await a_bus.close()
        await b_bus.close()


def test_a_lease_is_exclusive_and_runs_out_without_renewal(nats_server: NatsServer) -> None:
    asyncio.run(asyncio.wait_for(_expiry(nats_server), 30))
