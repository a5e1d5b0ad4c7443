"""Robots refuse a signature more than an hour old: a sender whose clock is two hours behind
is refused, shows the robot's words, and each retry is signed anew at its own time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from alerts.departments import DepartmentSpec, DepartmentStore
from alerts.outbox import NewPublication, Outbox, new_uid
from alerts.payload import Links, PayloadInput, shared_payload
from alerts.records import DeliveryRecord
from alerts.sender import Sender
from alerts.signing import SnapshotSigner
from detector.types import Transition
from service.alert_config import PublishConfig
from store.alert_tables import WebhookFormat
from store.db import init_db, make_engine
from store.events import EventStore
from tests.fixtures.app import T0, make_update
from tests.fixtures.robots import DingTalkRobot, Endpoint, FeishuBot
from tests.fixtures.webhooks import FAST_PUBLISH, wait_until

SECRETS = {WebhookFormat.DINGTALK: "SEC" + "5e" * 32, WebhookFormat.FEISHU: "fs-secret-012345678"}
REFUSALS = {
    WebhookFormat.DINGTALK: "DingTalk errcode 310000: timestamp too far from now",
    WebhookFormat.FEISHU: "Feishu code 19021: sign match fail or timestamp is not within one hour "
    "from current time",
}


class Clock:
    """Epoch seconds, off by ``offset_s`` (settable while the sender runs)."""

    def __init__(self, offset_s: float) -> None:
        self.offset_s = offset_s

    def __call__(self) -> float:
        return time.time() + self.offset_s


@pytest.fixture
def robot(request: pytest.FixtureRequest) -> Iterator[Endpoint]:
    fmt: WebhookFormat = request.param
    make: Callable[[str], Endpoint] = DingTalkRobot if fmt is WebhookFormat.DINGTALK else FeishuBot
    endpoint = make(SECRETS[fmt]).start()
    yield endpoint
    endpoint.stop()


@pytest.mark.parametrize(
    ("robot", "fmt"),
    [(f, f) for f in (WebhookFormat.DINGTALK, WebhookFormat.FEISHU)],
    indirect=["robot"],
)
def test_a_signature_two_hours_old_is_refused_and_a_retry_is_signed_anew(
    robot: Endpoint, fmt: WebhookFormat, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    init_db(engine)
    store = EventStore(engine, tmp_path / "snaps")
    event_id = store.apply(make_update("ridge", Transition.OPENED, T0))
    assert event_id is not None
    event = store.get_event(event_id)
    url: str = robot.url  # type: ignore[attr-defined]
    dep = DepartmentStore(engine).create(
        DepartmentSpec(name="Duty", webhook_url=url, secret=SECRETS[fmt], webhook_format=fmt)
    )
    payload = shared_payload(PayloadInput(new_uid(), T0, "ana", False, "", event, None, None, None))
    clock = Clock(-2 * 3600.0)
    outbox = Outbox(engine, clock=clock)  # one clock, as in one service
    outbox.enqueue(NewPublication(new_uid(), event_id, "ana", False, "", payload), [dep])
    links = Links("http://127.0.0.1:8000", SnapshotSigner("k" * 32))
    sender = Sender(outbox, PublishConfig(**FAST_PUBLISH), links, clock=clock)  # type: ignore[arg-type]

    def only() -> DeliveryRecord:
        (record,) = outbox.for_event(event_id)
        return record

    sender.start()
    try:
        wait_until(lambda: only().attempts >= 2, what="two refused attempts")
        assert only().last_error == REFUSALS[fmt] and robot.delivered() == []
        clock.offset_s = 0.0  # the clock is set right: the next retry carries a fresh time
        wait_until(lambda: only().delivered_at is not None, what="delivery")
    finally:
        sender.stop()
    assert len(robot.delivered()) == 1
