"""Outbox state changes with a fake clock, retry delays, signatures and signed links."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine

from alerts.departments import Department, DepartmentSpec, DepartmentStore
from alerts.outbox import DeliveryNotFound, NewPublication, Outbox, new_uid
from alerts.payload import DeliveryInfo, render_body
from alerts.sender import retry_delay
from alerts.signing import (
    SnapshotSigner,
    load_or_create_key,
    sign_body,
    verify_body,
)
from detector.types import Transition
from store.alert_tables import DeliveryStatus
from store.db import init_db, make_engine
from store.events import EventStore
from tests.fixtures.app import T0, make_update


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    init_db(engine)
    return engine


@pytest.fixture
def event_id(engine: Engine, tmp_path: Path) -> int:
    store = EventStore(engine, tmp_path / "snaps")
    event_id = store.apply(make_update("ridge", Transition.OPENED, T0))
    assert event_id is not None
    return event_id


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outbox(engine: Engine, clock: Clock) -> Outbox:
    return Outbox(engine, clock=clock)


def department(engine: Engine, name: str = "fire", **kw: object) -> Department:
    spec = DepartmentSpec(name=name, webhook_url="http://127.0.0.1:9/", secret="x" * 16, **kw)  # type: ignore[arg-type]
    return DepartmentStore(engine).create(spec)


def publish(outbox: Outbox, event_id: int, *deps: Department) -> list[int]:
    pub = NewPublication(new_uid(), event_id, "ana", False, "go", {"schema": "emberwatch.alert/1"})
    return [d.id for d in outbox.enqueue(pub, deps).deliveries]


def test_enqueue_stores_queued_rows_that_are_due(
    engine: Engine, outbox: Outbox, event_id: int
) -> None:
    a, b = department(engine, "a"), department(engine, "b")
    ids = publish(outbox, event_id, a, b)
    records = outbox.for_event(event_id)
    assert [r.status for r in records] == [DeliveryStatus.QUEUED] * 2
    assert [r.department_name for r in records] == ["a", "b"]
    assert len({r.uid for r in records}) == 2
    assert [d.id for d in outbox.due(1000.0)] == ids
    assert [d.id for d in outbox.due(1000.0, skip=frozenset(ids[:1]))] == ids[1:]
    assert outbox.due(999.0) == []
    assert outbox.next_due_at() == 1000.0


def test_a_claimed_delivery_is_not_claimed_again_until_its_lease_runs_out(
    engine: Engine, outbox: Outbox, event_id: int, tmp_path: Path
) -> None:
    ids = publish(outbox, event_id, department(engine, "a"), department(engine, "b"))
    other = Outbox(make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}"))  # a second service
    assert [d.id for d in outbox.claim_due(1000.0, 7.0)] == ids
    assert other.claim_due(1000.0, 7.0) == [] and other.claim_due(1006.9, 7.0) == []
    assert outbox.mark_failed(ids[0], "HTTP 500", 500, retry_at=1001.0)
    assert [d.id for d in other.claim_due(1001.0, 7.0)] == ids[:1]  # retried by either
    assert [d.id for d in other.claim_due(1007.0, 7.0)] == ids[1:]  # the first sender died


def test_failure_schedules_a_retry_and_success_ends_it(
    engine: Engine, outbox: Outbox, clock: Clock, event_id: int
) -> None:
    (delivery_id,) = publish(outbox, event_id, department(engine))
    assert outbox.mark_failed(delivery_id, "ConnectError: refused", None, retry_at=1010.0)
    (rec,) = outbox.for_event(event_id)
    assert (rec.status, rec.attempts, rec.next_attempt_at) == (DeliveryStatus.FAILING, 1, 1010.0)
    assert rec.last_error == "ConnectError: refused"
    assert outbox.due(1009.0) == [] and len(outbox.due(1010.0)) == 1
    clock.now = 1010.5
    assert outbox.mark_delivered(delivery_id, 204)
    (rec,) = outbox.for_event(event_id)
    assert (rec.status, rec.attempts, rec.delivered_at) == (DeliveryStatus.DELIVERED, 2, 1010.5)
    assert rec.last_error is None and rec.last_status_code == 204 and rec.next_attempt_at is None
    assert outbox.next_due_at() is None
    # A late answer of an older attempt cannot move it back to failing.
    assert not outbox.mark_failed(delivery_id, "late", 500, retry_at=2000.0)


def test_ack_is_final_and_wins_over_late_answers(
    engine: Engine, outbox: Outbox, clock: Clock, event_id: int
) -> None:
    (delivery_id,) = publish(outbox, event_id, department(engine, escalation_minutes=1.0))
    token = outbox.due(1000.0)[0].ack_token
    clock.now = 1001.0
    acked = outbox.acknowledge(token)  # before our record of the delivery (a lost 2xx)
    assert (acked.status, acked.acknowledged_at) == (DeliveryStatus.ACKNOWLEDGED, 1001.0)
    assert not outbox.mark_delivered(delivery_id, 200)
    clock.now = 5000.0
    assert outbox.acknowledge(token).acknowledged_at == 1001.0
    assert outbox.escalate_due(max_escalations=3) == []
    assert outbox.due(5000.0) == []
    with pytest.raises(DeliveryNotFound):
        outbox.acknowledge("nope")


def test_escalation_after_the_department_deadline(
    engine: Engine, outbox: Outbox, clock: Clock, event_id: int
) -> None:
    slow = department(engine, "slow", escalation_minutes=1.0)
    never = department(engine, "never")
    ids = publish(outbox, event_id, slow, never)
    for delivery_id in ids:
        outbox.mark_delivered(delivery_id, 200)  # at 1000
    clock.now = 1059.9
    assert outbox.escalate_due(max_escalations=2) == []
    clock.now = 1060.0
    (rec,) = outbox.escalate_due(max_escalations=2)
    assert (rec.department_name, rec.status, rec.escalations) == ("slow", "queued", 1)
    assert rec.escalated_at == 1060.0 and rec.next_attempt_at == 1060.0
    (due,) = outbox.due(1060.0)
    assert due.idempotency_key == f"{due.uid}.1"
    outbox.mark_delivered(due.id, 200)  # at 1060: the next deadline is 1120
    clock.now = 1119.0
    assert outbox.escalate_due(max_escalations=2) == []
    clock.now = 1120.0
    assert [r.escalations for r in outbox.escalate_due(max_escalations=2)] == [2]
    outbox.mark_delivered(due.id, 200)
    clock.now = 9999.0
    assert outbox.escalate_due(max_escalations=2) == []  # the cap


def test_disabled_department_waits(engine: Engine, outbox: Outbox, event_id: int) -> None:
    dep = department(engine)
    publish(outbox, event_id, dep)
    store = DepartmentStore(engine)
    store.update(dep.id, DepartmentSpec(name=dep.name, webhook_url=dep.webhook_url, enabled=False))
    assert outbox.due(1000.0) == []
    store.update(dep.id, DepartmentSpec(name=dep.name, webhook_url=dep.webhook_url))
    assert len(outbox.due(1000.0)) == 1
    assert store.get(dep.id).secret == "x" * 16  # kept through updates without a secret


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [(1, 2.0), (2, 4.0), (3, 8.0), (7, 128.0), (8, 256.0), (9, 300.0), (50, 300.0), (10**6, 300.0)],
)
def test_retry_delay_doubles_up_to_the_cap(attempts: int, expected: float) -> None:
    assert retry_delay(attempts, 2.0, 300.0) == expected


def test_body_signature_known_vector() -> None:
    # HMAC-SHA256 test vector (key "key", the pangram), as published for RFC 2104 examples.
    body = b"The quick brown fox jumps over the lazy dog"
    expected = "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    assert sign_body("key", body) == expected
    assert verify_body("key", body, expected)
    assert not verify_body("key", body + b" ", expected)
    assert not verify_body("other", body, expected)
    assert not verify_body("key", body, None)


def test_signed_snapshot_links() -> None:
    signer = SnapshotSigner("k" * 64)
    sig = signer.signature(7, 2000)
    assert signer.valid(7, 2000, sig, now=1999.0)
    assert signer.valid(7, 2000, sig, now=2000.0)
    assert not signer.valid(7, 2000, sig, now=2000.5)  # expired
    assert not signer.valid(8, 2000, sig, now=1000.0)  # another event
    assert not signer.valid(7, 3000, sig, now=1000.0)  # expiry moved
    assert not SnapshotSigner("j" * 64).valid(7, 2000, sig, now=1000.0)
    assert signer.query(7, 2000) == f"expires=2000&sig={sig}"


def test_signing_key_is_created_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "publish-signing.key"
    key = load_or_create_key(path)
    assert len(key) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == key


def test_render_body_is_deterministic_json() -> None:
    shared = {"schema": "emberwatch.alert/1", "message": "Fumée au nord", "event": {"id": 3}}
    info = DeliveryInfo("d-1", "Pompiers", "http://h/api/acks/t", 0)
    body = render_body(shared, info)
    assert body == render_body(dict(shared), info)
    decoded = json.loads(body)
    assert decoded["message"] == "Fumée au nord" and decoded["delivery"]["id"] == "d-1"
    assert list(decoded) == ["schema", "message", "event", "delivery"]
