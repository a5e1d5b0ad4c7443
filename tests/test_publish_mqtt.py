"""Departments that receive alerts on an MQTT topic, through the real app and a real broker
(mosquitto) on loopback: one acknowledged message per copy, signed in its user properties."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from alerts.signing import verify_body
from service.config import AppConfig
from tests.fixtures.app import publish_config
from tests.fixtures.mqtt import Broker, Subscriber
from tests.fixtures.webhooks import wait_until
from tests.test_publish_delivery import confirmed_event, statuses

SECRET = "mqtt-secret-0123456789"
TOPIC = "district/alerts/forestry"


@pytest.fixture
def broker() -> Iterator[Broker]:
    broker = Broker()  # its port is chosen now; each test starts it when it wants
    yield broker
    broker.stop()


@pytest.fixture
def app_config(tmp_path: Path, broker: Broker) -> AppConfig:
    """The API fixtures' config with fast retries and the loopback broker."""
    return publish_config(tmp_path, mqtt={"host": "127.0.0.1", "port": broker.port})


def add(client: TestClient, **channel: Any) -> dict[str, Any]:
    body = {"name": "Forestry", "secret": SECRET, **channel}
    response = client.post("/api/departments", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_an_mqtt_department_gets_one_signed_message(client: TestClient, broker: Broker) -> None:
    broker.start()
    subscriber = Subscriber(broker, TOPIC)
    try:
        dep = add(client, mqtt_topic=TOPIC)
        assert dep["mqtt_topic"] == TOPIC and dep["webhook_url"] is None
        event_id = confirmed_event(client)
        body = {"departments": "all", "message": "Smoke north of the ridge"}
        assert client.post(f"/api/events/{event_id}/publish", json=body).status_code == 202
        wait_until(lambda: statuses(client, event_id) == {"Forestry": "delivered"})
        wait_until(subscriber.messages, what="the message at the subscriber")
        (msg,) = subscriber.messages()
    finally:
        subscriber.close()
    assert msg.topic == TOPIC
    assert verify_body(SECRET, msg.payload, msg.properties["X-Emberwatch-Signature"])
    payload = json.loads(msg.payload)
    assert payload["event"]["id"] == event_id and payload["message"] == "Smoke north of the ridge"
    assert msg.properties["Idempotency-Key"] == payload["delivery"]["id"]


def test_a_broker_that_is_down_gets_the_alert_when_it_is_back(
    client: TestClient, broker: Broker
) -> None:
    add(client, mqtt_topic=TOPIC)
    event_id = confirmed_event(client)
    client.post(f"/api/events/{event_id}/publish", json={"departments": "all"})
    wait_until(lambda: statuses(client, event_id) == {"Forestry": "failing"})
    (delivery,) = client.get(f"/api/events/{event_id}/deliveries").json()["deliveries"]
    assert f"127.0.0.1:{broker.port}" in delivery["last_error"]
    broker.start()
    wait_until(lambda: statuses(client, event_id) == {"Forestry": "delivered"})


@pytest.mark.parametrize("topic", ["district/+/fire", "district/#", ""])
def test_a_topic_with_wildcards_is_refused(client: TestClient, topic: str) -> None:
    body = {"name": "x", "secret": SECRET, "mqtt_topic": topic}
    response = client.post("/api/departments", json=body)
    assert response.status_code == 422 and "no wildcards" in response.text
