"""Alerts to DingTalk, WeCom and Feishu group robots and to a templated SMS gateway, through
the real app and its outbox, received by loopback servers that check each service's
signature from the shared secret (tests.fixtures.robots)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from service.config import AppConfig
from tests.fixtures.app import publish_config
from tests.fixtures.robots import DingTalkRobot, Endpoint, FeishuBot, Request, WeComRobot
from tests.fixtures.webhooks import wait_until
from tests.test_publish_delivery import confirmed_event, deliveries, statuses

DINGTALK_SECRET = "SEC" + "7d2f" * 16
FEISHU_SECRET = "nIMtb7r3N9pkXyXdtAbx6e"
MESSAGE = '西坡发现烟雾，已派出扑火队 "crew 3"'


@pytest.fixture
def app_config(tmp_path: Path) -> AppConfig:
    return publish_config(tmp_path, message_timezone="Asia/Shanghai")


@pytest.fixture
def endpoints() -> Iterator[list[Endpoint]]:
    started: list[Endpoint] = []
    yield started
    for endpoint in started:
        endpoint.stop()


def started(endpoints: list[Endpoint], endpoint: Endpoint) -> Any:
    endpoints.append(endpoint.start())
    return endpoint


def add(client: TestClient, name: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/departments", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def publish(client: TestClient, message: str = MESSAGE) -> int:
    event_id = confirmed_event(client)
    body = {"departments": "all", "message": message}
    assert client.post(f"/api/events/{event_id}/publish", json=body).status_code == 202
    return event_id


def _dingtalk(got: Request) -> str:
    text: str = got.json()["markdown"]["text"]
    return text


def _wecom(got: Request) -> str:
    text: str = got.json()["markdown"]["content"]
    return text


def _feishu(got: Request) -> str:
    text: str = got.json()["card"]["elements"][0]["text"]["content"]
    return text


ROBOTS: dict[str, tuple[Callable[[], Endpoint], dict[str, Any], Callable[[Request], str]]] = {
    "dingtalk": (lambda: DingTalkRobot(DINGTALK_SECRET), {"secret": DINGTALK_SECRET}, _dingtalk),
    "wecom": (WeComRobot, {}, _wecom),
    "feishu": (lambda: FeishuBot(FEISHU_SECRET), {"secret": FEISHU_SECRET}, _feishu),
    "feishu-legacy": (lambda: FeishuBot(FEISHU_SECRET, legacy=True), {"secret": FEISHU_SECRET},
                      _feishu),
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(ROBOTS))
def test_publish_gets_one_signed_message_to_the_robot(
    client: TestClient, endpoints: list[Endpoint], kind: str
) -> None:
    make, secret, text_of = ROBOTS[kind]
    robot = started(endpoints, make())
    fmt = kind.split("-")[0]
    dep = add(client, "县应急管理局", webhook_url=robot.url, webhook_format=fmt, **secret)
    assert dep["webhook_format"] == fmt and dep["secret_set"] is bool(secret)

    event_id = publish(client)

    wait_until(lambda: statuses(client, event_id) == {"县应急管理局": "delivered"})
    time.sleep(0.3)  # several more sender cycles: nothing is sent again
    (got,) = robot.received()
    assert robot.delivered() == [got]  # the robot checked the signature and said ok
    text = text_of(got)
    assert "Ridge North (ridge)" in text and "烟雾 smoke" in text
    assert "2026-06-01 20:00:00 CST" in text  # T0 in publish.message_timezone
    assert MESSAGE in text
    assert f"/api/published/{event_id}/snapshot.jpg?expires=" in text
    assert "http://127.0.0.1:8000/api/acks/" in text
    (delivery,) = deliveries(client, event_id)["deliveries"]
    assert delivery["attempts"] == 1 and delivery["last_status_code"] == 200


# A department set up wrongly (secret or key), refused by the robot, then corrected.
FAILURES: dict[str, tuple[Callable[[], Endpoint], Callable[[Endpoint], dict[str, Any]], str]] = {
    "dingtalk": (
        lambda: DingTalkRobot(DINGTALK_SECRET),
        lambda r: {"webhook_url": r.url, "secret": "SEC" + "0" * 64},  # type: ignore[attr-defined]
        "DingTalk errcode 310000: sign not match",
    ),
    "wecom": (
        WeComRobot,
        lambda r: {"webhook_url": f"{r.base}/cgi-bin/webhook/send?key=revoked-key-0001"},
        "WeCom errcode 93000: invalid webhook url",
    ),
    "feishu": (
        lambda: FeishuBot(FEISHU_SECRET),
        lambda r: {"webhook_url": r.url, "secret": "wrong-secret-0123456"},  # type: ignore[attr-defined]
        "Feishu code 19021: sign match fail or timestamp is not within one hour from current time",
    ),
}


@pytest.mark.parametrize("kind", sorted(FAILURES))
def test_a_refusing_robot_shows_its_error_and_gets_the_alert_once_corrected(
    client: TestClient, endpoints: list[Endpoint], kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    make, wrong, error = FAILURES[kind]
    robot = started(endpoints, make())
    dep = add(client, "Forestry", webhook_format=kind, **wrong(robot))
    caplog.set_level(logging.INFO)

    event_id = publish(client)

    failing = wait_until(
        lambda: [d for d in deliveries(client, event_id)["deliveries"] if d["attempts"] >= 2],
        what="two refused attempts",
    )[0]
    assert failing["status"] == "failing" and failing["last_error"] == error
    assert robot.delivered() == []
    fixed = {"secret": ROBOTS[kind][1].get("secret"), "webhook_url": robot.url}  # type: ignore[attr-defined]
    response = client.put(f"/api/departments/{dep['id']}", json={
        k: v for k, v in fixed.items() if v})  # fmt: skip
    assert response.status_code == 200, response.text
    wait_until(lambda: statuses(client, event_id) == {"Forestry": "delivered"})
    assert len(robot.delivered()) == 1
    assert "revoked-key-0001" not in caplog.text and "wrong-secret" not in caplog.text


def test_wecom_gets_a_long_message_cut_to_its_limit(
    client: TestClient, endpoints: list[Endpoint]
) -> None:
    robot = started(endpoints, WeComRobot())
    add(client, "Duty office", webhook_url=robot.url, webhook_format="wecom")
    event_id = publish(client, message="火" * 2000)  # 6000 bytes: more than WeCom takes
    wait_until(lambda: statuses(client, event_id) == {"Duty office": "delivered"})
    (got,) = robot.delivered()
    assert "火" * 400 in _wecom(got) and "火" * 600 not in _wecom(got)


def test_an_sms_gateway_gets_the_filled_in_json_template(
    client: TestClient, endpoints: list[Endpoint]
) -> None:
    gateway = started(endpoints, Endpoint())
    body = '{"to": ["13800138000"], "text": "${summary}", "msg": "${message}", "at": "${time}"}'
    template = {"body": body, "headers": {"Authorization": "Bearer gw-key-5566"}}
    dep = add(client, "SMS", webhook_url=f"{gateway.base}/sms/send", webhook_format="template",
              template=template)  # fmt: skip
    assert dep["template"]["headers"] == {"Authorization": "***"}
    assert "gw-key-5566" not in client.get("/api/departments").text

    event_id = publish(client, message='quote " and \\ backslash\nnew line')

    wait_until(lambda: statuses(client, event_id) == {"SMS": "delivered"})
    (got,) = gateway.received()
    assert (got.method, got.path) == ("POST", "/sms/send")
    assert got.headers["authorization"] == "Bearer gw-key-5566"
    assert got.headers["content-type"] == "application/json"
    assert got.headers["idempotency-key"] == deliveries(client, event_id)["deliveries"][0]["id"]
    sent = got.json()  # still JSON: the values were escaped
    assert sent["msg"] == 'quote " and \\ backslash new line'
    assert sent["at"] == "2026-06-01 20:00:00 CST"
    assert sent["text"].startswith("【Emberwatch】烟雾 smoke Ridge North (ridge) 2026-06-01")
    assert f"/api/published/{event_id}/snapshot.jpg" in sent["text"]


def test_an_sms_gateway_by_get_gets_the_fields_in_its_url(
    client: TestClient, endpoints: list[Endpoint]
) -> None:
    gateway = started(endpoints, Endpoint())
    url = f"{gateway.base}/send?apikey=k-778899&mobile=13800138000&content=${{summary}}&c=$cls"
    add(client, "SMS", webhook_url=url, webhook_format="template", template={"method": "GET"})
    event_id = publish(client, message="A & B = ?")
    wait_until(lambda: statuses(client, event_id) == {"SMS": "delivered"})
    (got,) = gateway.received()
    query = parse_qs(urlsplit(got.path).query)
    assert got.method == "GET" and got.body == b""
    assert query["apikey"] == ["k-778899"] and query["c"] == ["烟雾 smoke"]
    assert "A & B = ?" in query["content"][0]
    assert "k-778899" not in client.get("/api/departments").text


def test_a_put_keeps_the_format_and_the_template_headers(
    client: TestClient, endpoints: list[Endpoint]
) -> None:
    gateway = started(endpoints, Endpoint())
    template = {"body": "${summary}", "content_type": "text/plain", "headers": {"X-Key": "k-1"}}
    dep = add(client, "SMS", webhook_url=f"{gateway.base}/a", webhook_format="template",
              template=template)  # fmt: skip
    new_template = {"body": "$message", "content_type": "text/plain"}  # no headers: kept
    changes = {"webhook_url": f"{gateway.base}/b", "template": new_template}
    changed = client.put(f"/api/departments/{dep['id']}", json=changes)
    assert changed.status_code == 200, changed.text
    assert changed.json()["webhook_format"] == "template"
    event_id = publish(client, message="only the message")
    wait_until(lambda: statuses(client, event_id) == {"SMS": "delivered"})
    (got,) = gateway.received()
    assert (got.path, got.body, got.headers["x-key"]) == ("/b", b"only the message", "k-1")
    assert got.headers["content-type"] == "text/plain"


def test_robot_urls_and_tokens_are_masked_in_answers(client: TestClient) -> None:
    urls = {
        "dingtalk": "https://oapi.dingtalk.com/robot/send?access_token=dt-secret-token",
        "wecom": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wc-secret-key",
        "feishu": "https://open.feishu.cn/open-apis/bot/v2/hook/fs-secret-token",
    }
    secrets = {"dingtalk": DINGTALK_SECRET, "feishu": FEISHU_SECRET}
    for fmt, url in urls.items():
        extra = {"secret": secrets[fmt]} if fmt in secrets else {}
        add(client, fmt, webhook_url=url, webhook_format=fmt, **extra)
    listed = client.get("/api/departments")
    shown = {d["name"]: d["webhook_url"] for d in listed.json()}
    assert shown == {
        "dingtalk": "https://oapi.dingtalk.com/robot/send?access_token=***",
        "wecom": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***",
        "feishu": "https://open.feishu.cn/open-apis/bot/v2/hook/***",
    }
    for secret in ("dt-secret-token", "wc-secret-key", "fs-secret-token", *secrets.values()):
        assert secret not in listed.text
    assert json.dumps(listed.json()).count("***") == 3
