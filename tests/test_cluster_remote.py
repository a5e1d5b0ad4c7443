"""The API replica's side of the bus, in process against a real JetStream server: a camera
change made while the bus is away reaches the workers' bucket once the bus is there, and the
configured cameras and their muted regions are put there at start."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from cluster.bus import connect, entries
from cluster.metrics import BusCounters
from cluster.remote import ClusterPipeline
from cluster.settings import CAMERAS, MUTES, ClusterSettings
from cluster.state import decode_cameras
from detector.types import Transition
from service.metrics import Metrics
from store.db import init_db, make_engine
from store.events import EventChange, EventStore
from streams.config import CameraConfig
from tests.fixtures.app import T0, make_update
from tests.fixtures.nats import NatsServer, nats_binary

RIDGE = CameraConfig(id="ridge", url="rtsp://10.0.0.5/stream")
VALLEY = CameraConfig(id="valley", url="rtsp://10.0.0.6/stream")


@pytest.fixture
def server() -> Iterator[NatsServer]:
    """A JetStream server with its port chosen but not started."""
    exe = nats_binary()
    if exe is None:
        pytest.skip("nats-server is not installed (scripts/system-deps.sh test)")
    made = NatsServer(exe)
    yield made
    made.close()


def _on_bus(server: NatsServer, bucket: str) -> dict[str, bytes]:
    async def read() -> dict[str, bytes]:
        settings = ClusterSettings(bus=server.url, name="probe")
        bus = await connect(settings, BusCounters(CollectorRegistry()))
        try:
            return await entries(bus.js, bucket)
        finally:
            await bus.close()

    return asyncio.run(read())


def _until(check: object, what: str) -> None:
    deadline = time.monotonic() + 20
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_change_made_while_the_bus_is_away_arrives_when_it_is_back(
    server: NatsServer, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    init_db(engine)
    store = EventStore(engine, tmp_path / "snaps")
    settings = ClusterSettings(bus=server.url, name="api-a", lease_ttl_s=2.0)
    pipeline = ClusterPipeline(settings, [RIDGE], store, Metrics())
    pipeline.start()  # the bus is not there yet: the API starts anyway
    try:
        pipeline.add_camera(VALLEY)  # kept until the bus is reachable
        assert {v.config.id for v in pipeline.cameras()} == {"ridge", "valley"}
        assert all(v.handover for v in pipeline.cameras())  # no worker holds them
        server.start()
        _until(lambda: set(decode_cameras(_on_bus(server, CAMERAS))) == {"ridge", "valley"},
               "both cameras on the bus")  # fmt: skip
        assert _on_bus(server, MUTES) == {"ridge": b"[]"}  # the configured camera's mutes
        assert pipeline.remove_camera("valley")
        _until(lambda: set(_on_bus(server, CAMERAS)) == {"ridge"}, "valley deleted")
    finally:
        pipeline.stop()


def test_a_change_committed_on_one_replica_reaches_the_live_feed_of_the_other(
    server: NatsServer, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    init_db(engine)
    server.start()
    stores = [EventStore(engine, tmp_path / "snaps") for _ in range(2)]
    shown: list[list[EventChange]] = [[], []]
    acted: list[list[EventChange]] = [[], []]
    replicas = []
    for i, store in enumerate(stores):
        store.add_view_listener(shown[i].append)  # the live feed
        store.add_listener(acted[i].append)  # what acts on changes (automatic alerts)
        settings = ClusterSettings(bus=server.url, name=f"api-{i}", lease_ttl_s=2.0)
        replicas.append(ClusterPipeline(settings, [RIDGE], store, Metrics()))
    for replica in replicas:
        replica.start()
    try:
        _until(lambda: all(r._bus is not None for r in replicas), "both replicas on the bus")
        time.sleep(0.3)  # their subscriptions are in place
        event_id = stores[0].apply(make_update("ridge", Transition.OPENED, T0))
        _until(lambda: len(shown[1]) == 1, "the other replica's feed")
        assert shown[1][0].event_id == event_id and shown[1][0].change == "opened"
        assert acted[1] == []  # nothing acts twice
        time.sleep(0.3)
        assert len(shown[0]) == 1 and len(acted[0]) == 1  # its own change, once
    finally:
        for replica in replicas:
            replica.stop()
