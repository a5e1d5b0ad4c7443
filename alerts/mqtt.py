"""Alerts on an MQTT topic: the webhook's JSON body as the message, its headers as MQTT 5 user
properties (``X-Emberwatch-Signature``, ``X-Emberwatch-Delivery``, ``X-Emberwatch-Event``,
``Idempotency-Key``), published with QoS 1 (or 2) and counted as delivered once the broker
acknowledges it.

Alerts are rare, so each attempt opens its own connection and closes it again: nothing to keep
alive, and a broken broker connection never outlives one attempt.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from service.alert_config import MqttConfig


class MqttError(Exception):
    """The broker could not be reached, refused us, or did not acknowledge in time."""


def publish(
    config: MqttConfig, topic: str, body: bytes, headers: Mapping[str, str], timeout_s: float
) -> None:
    """Publish ``body`` on ``topic`` and wait for the broker's acknowledgement.

    Raises MqttError naming the broker and what went wrong.
    """
    where = f"{config.host}:{config.port}"
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"{config.client_id}-{uuid.uuid4().hex[:8]}",
        protocol=MQTTProtocolVersion.MQTTv5,
        reconnect_on_failure=False,
    )
    client.connect_timeout = timeout_s
    if config.username:
        client.username_pw_set(config.username, config.password)
    if config.tls:
        client.tls_set()
    connected = threading.Event()
    answer: list[Any] = []

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        answer.append(reason)
        connected.set()

    client.on_connect = on_connect
    try:
        client.connect(config.host, config.port, keepalive=max(10, round(2 * timeout_s)))
    except OSError as exc:
        raise MqttError(f"{where}: {exc.strerror or exc}") from exc
    client.loop_start()
    try:
        if not connected.wait(timeout_s):
            raise MqttError(f"{where}: no answer to CONNECT within {timeout_s:g} s")
        if answer[0].is_failure:
            raise MqttError(f"{where}: the broker refused the connection: {answer[0]}")
        info = client.publish(topic, body, qos=config.qos, properties=_properties(headers))
        info.wait_for_publish(timeout_s)
        if not info.is_published():
            raise MqttError(f"{where}: no acknowledgement within {timeout_s:g} s")
    except (RuntimeError, ValueError) as exc:  # paho: connection lost, message not queued
        raise MqttError(f"{where}: {exc}") from exc
    finally:
        client.disconnect()
        client.loop_stop()


def _properties(headers: Mapping[str, str]) -> Properties:
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.ContentType = headers.get("Content-Type", "application/json")
    props.UserProperty = [(k, v) for k, v in headers.items() if k != "Content-Type"]
    return props
