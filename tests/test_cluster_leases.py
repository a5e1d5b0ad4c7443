"""Camera leases on a real JetStream server: exclusive, renewed, lost when not renewed."""

from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client import CollectorRegistry

from cluster.bus import BucketCache, connect, entries
from cluster.leases import LeaseTable, read_leases
from cluster.metrics import BusCounters
from cluster.settings import CAMERAS, ClusterSettings
from tests.fixtures.nats import NatsServer, nats_binary

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
        assert (await read_leases(b_bus.js))["cam-1"].holder == "a"
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
        assert (await read_leases(a_bus.js))["cam-1"].holder == "b"
        await b.release("cam-1")
        assert await read_leases(a_bus.js) == {}
    finally:
        await a_bus.close()
        await b_bus.close()


def test_a_lease_is_exclusive_and_runs_out_without_renewal(nats_server: NatsServer) -> None:
    asyncio.run(asyncio.wait_for(_expiry(nats_server), 30))


async def _read_whole(server: NatsServer) -> None:
    bus = await connect(_settings(server, "r"), BusCounters(CollectorRegistry()))
    try:
        assert await entries(bus.js, CAMERAS) == {}
        for i in range(600):  # more than one fetch
            await bus.cameras.put(f"cam-{i:03d}", b"old")
        for i in range(600):
            await bus.cameras.put(f"cam-{i:03d}", f"v{i}".encode())
        await bus.cameras.delete("cam-007")
        for _ in range(5):  # every read sees every key, each with its latest value
            got = await entries(bus.js, CAMERAS)
            assert len(got) == 599 and "cam-007" not in got
            assert got["cam-599"] == b"v599" and set(got.values()) == {
                f"v{i}".encode() for i in range(600) if i != 7
            }
    finally:
        await bus.close()


def test_a_bucket_is_read_whole_with_the_latest_values(nats_server: NatsServer) -> None:
    asyncio.run(asyncio.wait_for(_read_whole(nats_server), 60))


def test_the_bus_password_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    exe = nats_binary()
    if exe is None:
        pytest.skip("nats-server is not installed (scripts/system-deps.sh test)")
    server = NatsServer(exe, "--user", "ember", "--pass", "s3cret-bus-pw").start()

    async def connect_and_close() -> None:
        url = f"nats://ember:s3cret-bus-pw@127.0.0.1:{server.port}"
        bus = await connect(ClusterSettings(bus=url, name="n"), BusCounters(CollectorRegistry()))
        await bus.close()

    try:
        with caplog.at_level(logging.DEBUG):
            asyncio.run(asyncio.wait_for(connect_and_close(), 30))
    finally:
        server.close()
    assert f"connected to 127.0.0.1:{server.port}" in caplog.text
    assert "s3cret-bus-pw" not in caplog.text


async def _cache(server: NatsServer) -> None:
    bus = await connect(_settings(server, "c"), BusCounters(CollectorRegistry()))
    cache = BucketCache(CAMERAS)
    try:
        await bus.cameras.put("ridge", b"1")
        assert await cache.refresh(bus.js) == {"ridge": b"1"}
        assert await cache.refresh(bus.js) == {"ridge": b"1"} and cache.reads == 1  # unchanged
        await bus.cameras.put("ridge", b"2")
        await bus.cameras.delete("valley")  # a delete is a write too
        assert await cache.refresh(bus.js) == {"ridge": b"2"} and cache.reads == 2
    finally:
        await bus.close()


def test_a_cached_bucket_is_read_again_only_after_a_write(nats_server: NatsServer) -> None:
    asyncio.run(asyncio.wait_for(_cache(nats_server), 30))
