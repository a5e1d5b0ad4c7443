"""Two services on one database: their senders share the outbox and each copy goes out once.

Each sender has its own engine (its own connections), as two processes would; the receivers are
real HTTP servers on loopback. Runs on SQLite and, where installed, on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.departments import DepartmentSpec, DepartmentStore
from alerts.outbox import NewPublication, Outbox, new_uid
from alerts.payload import Links
from alerts.sender import Sender
from alerts.signing import SnapshotSigner, verify_body
from detector.types import Transition
from service.alert_config import PublishConfig
from store.db import init_db, make_engine
from store.events import EventStore
from tests.fixtures.app import T0, make_update
from tests.fixtures.webhooks import FAST_PUBLISH, Receiver, wait_until

DEPARTMENTS = 8


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    started = [Receiver().start() for _ in range(DEPARTMENTS)]
    yield started
    for receiver in started:
        receiver.stop()


def test_two_senders_on_one_database_deliver_each_copy_once(
    database_url: str, receivers: list[Receiver], tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    init_db(engine)
    event_id = EventStore(engine, tmp_path / "snaps").apply(
        make_update("ridge", Transition.OPENED, T0)
    )
    assert event_id is not None
    tag = new_uid()[:8]  # one PostgreSQL database serves every test of the run
    store = DepartmentStore(engine)
    secret = "s" * 24
    departments = [
        store.create(DepartmentSpec(name=f"dep-{tag}-{i}", webhook_url=r.url, secret=secret))  # type: ignore[call-arg]
        for i, r in enumerate(receivers)
    ]
    settings = PublishConfig(**FAST_PUBLISH)  # type: ignore[arg-type]
    links = Links("http://127.0.0.1:8000", SnapshotSigner("k" * 32))
    senders = [Sender(Outbox(make_engine(database_url)), settings, links) for _ in range(2)]
    for sender in senders:
        sender.start()
    try:
        pub = NewPublication(new_uid(), event_id, "ana", False, "both", {"schema": "x"})
        Outbox(engine).enqueue(pub, departments)
        for sender in senders:
            sender.wake()
        wait_until(lambda: all(r.bodies() for r in receivers), what="every department")
    finally:
        for sender in senders:
            sender.stop()
    for receiver in receivers:
        (got,) = receiver.bodies()  # exactly once, though both senders saw it due
        assert verify_body(secret, got.body, got.headers["x-emberwatch-signature"])
