"""Several API replicas on one PostgreSQL claim the alert outbox row by row: each delivery is
claimed by exactly one of them, and a row one holds is passed over by the others."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from alerts.departments import Department, DepartmentSpec, DepartmentStore
from alerts.outbox import NewPublication, Outbox, new_uid
from detector.types import Transition
from store.alert_tables import DeliveryRow
from store.db import init_db, make_engine
from store.events import EventStore
from tests.fixtures.app import T0, make_update
from tests.fixtures.cluster import fresh_database

NOW = time.time() + 3600.0  # after every delivery this test run queues


def _engine(server_url: str) -> Engine:
    """A database of its own on the test server (the shared one holds other tests' events)."""
    engine = make_engine(fresh_database(server_url))
    init_db(engine)
    return engine


def _deliveries(engine: Engine, tmp_path: Path, count: int) -> list[int]:
    event_id = EventStore(engine, tmp_path / "snaps").apply(
        make_update("ridge", Transition.OPENED, T0)
    )
    assert event_id is not None
    store = DepartmentStore(engine)
    deps: list[Department] = [
        store.create(DepartmentSpec(name=f"d-{uuid.uuid4().hex[:8]}",  # type: ignore[arg-type]
                                    webhook_url="http://127.0.0.1:9/", secret="x" * 16))
        for _ in range(count)
    ]  # fmt: skip
    pub = NewPublication(new_uid(), event_id, "ana", False, "go", {"schema": "emberwatch.alert/1"})
    return [d.id for d in Outbox(engine).enqueue(pub, deps).deliveries]


def test_a_row_another_replica_holds_is_skipped_not_waited_for(
    postgres_url: str, tmp_path: Path
) -> None:
    engine = _engine(postgres_url)
    ids = _deliveries(engine, tmp_path, 3)
    with Session(engine) as holder:  # another replica in the middle of claiming ids[0]
        holder.execute(select(DeliveryRow).where(DeliveryRow.id == ids[0]).with_for_update())
        got = {d.id for d in Outbox(engine).claim_due(NOW, 7.0)}
        holder.rollback()
    assert ids[0] not in got and set(ids[1:]) <= got
    assert ids[0] in {d.id for d in Outbox(engine).claim_due(NOW, 7.0)}  # free again


def test_two_replicas_claiming_at_once_claim_each_delivery_once(
    postgres_url: str, tmp_path: Path
) -> None:
    engine = _engine(postgres_url)
    ids = set(_deliveries(engine, tmp_path, 40))
    url = engine.url.render_as_string(hide_password=False)
    replicas = [Outbox(make_engine(url)) for _ in range(2)]
    claims: list[list[int]] = [[] for _ in range(4)]

    def claim(slot: int) -> None:
        outbox = replicas[slot % 2]
        while True:
            got = [d.id for d in outbox.claim_due(NOW + 1, 60.0, limit=3) if d.id in ids]
            if not got:
                return
            claims[slot].extend(got)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    every = [i for claimed in claims for i in claimed]
    assert sorted(every) == sorted(ids)  # all claimed, none twice
    assert all(claims[i] for i in range(2))  # both replicas took part
