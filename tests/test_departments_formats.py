"""Webhook formats through the departments API: what each needs, refused with a 422 that
names the field and the cause."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.alert_config import PublishConfig

DINGTALK = "https://oapi.dingtalk.com/robot/send?access_token=abc123"
DINGTALK_SECRET = "SEC" + "a1" * 32
WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6"
FEISHU = "https://open.feishu.cn/open-apis/bot/v2/hook/5e3d587e"
SMS = "https://sms.example.cn/api/send"
TEMPLATE = {"webhook_url": SMS, "webhook_format": "template"}
JSON_BODY = '{"to": "13800138000", "text": "${summary}"}'


def post(client: TestClient, **fields: Any) -> Any:
    return client.post("/api/departments", json={"name": "x", **fields})


@pytest.mark.parametrize(
    ("fields", "field", "cause"),
    [
        ({"webhook_url": DINGTALK.split("?")[0], "webhook_format": "dingtalk",
          "secret": DINGTALK_SECRET}, "webhook_url", "access_token="),
        ({"webhook_url": DINGTALK, "webhook_format": "dingtalk", "secret": "s" * 20},
         "secret", "starts with SEC"),
        ({"webhook_url": DINGTALK, "webhook_format": "dingtalk"}, "secret", "required"),
        ({"webhook_url": WECOM.split("?")[0], "webhook_format": "wecom"}, "webhook_url", "key="),
        ({"webhook_url": "https://open.feishu.cn/open-apis/bot/v2/", "webhook_format": "feishu",
          "secret": "f" * 20}, "webhook_url", "/hook/<token>"),
        ({"webhook_url": FEISHU, "webhook_format": "feishu"}, "secret", "required"),
        ({"email_to": ["a@b.example"], "webhook_format": "wecom"}, "webhook_format",
         "needs webhook_url"),
        ({"webhook_url": SMS, "webhook_format": "template"}, "template", "required"),
        ({"webhook_url": WECOM, "webhook_format": "wecom", "template": {"body": JSON_BODY}},
         "template", 'only for webhook_format "template"'),
        ({"webhook_url": SMS + "?to=${phone}", "webhook_format": "template",
          "template": {"body": JSON_BODY}}, "webhook_url", "unknown field phone"),
        (TEMPLATE | {"template": {"body": "${cls.__class__}"}},
         "template.body", "a $ that starts no ${field}"),
        (TEMPLATE | {"template": {"body": "${camera} $5"}},
         "template.body", "write $$ for a literal $"),
        (TEMPLATE | {"template": {"body": '{"t": ${message}}'}},
         "template.body", "not JSON once filled in"),
        ({"webhook_url": SMS, "webhook_format": "template",
          "template": {"method": "GET", "body": "${summary}"}}, "template.body", "has no body"),
        ({"webhook_url": SMS, "webhook_format": "template",
          "template": {"body": JSON_BODY, "headers": {"Content-Type": "text/plain"}}},
         "template.headers", "set by the sender"),
        ({"webhook_url": SMS, "webhook_format": "template",
          "template": {"body": JSON_BODY, "headers": {"X-Key": "a\r\nX-Evil: 1"}}},
         "template.headers", "line break"),
        ({"webhook_url": SMS, "webhook_format": "template",
          "template": {"body": "x", "content_type": "json"}}, "template.content_type",
         "not a content type"),
        ({"webhook_url": SMS, "webhook_format": "template",
          "template": {"body": JSON_BODY, "script": "1"}}, "template.script", "unknown key"),
        ({"webhook_url": SMS, "webhook_format": "slack"}, "webhook_format", "dingtalk"),
        ({"webhook_url": "https://brigade.example/hook"}, "secret", "required"),
    ],
)  # fmt: skip
def test_a_format_without_what_it_needs_is_refused(
    client: TestClient, fields: dict[str, Any], field: str, cause: str
) -> None:
    response = post(client, **fields)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith(f"body.{field}: ") and cause in detail, detail
    assert "Value error" not in detail


@pytest.mark.parametrize(
    "fields",
    [
        {"webhook_url": DINGTALK, "webhook_format": "dingtalk", "secret": DINGTALK_SECRET},
        {"webhook_url": WECOM, "webhook_format": "wecom"},
        {"webhook_url": FEISHU, "webhook_format": "feishu", "secret": "f" * 22},
        {"webhook_url": SMS, "webhook_format": "template", "template": {"body": JSON_BODY}},
        {"webhook_url": SMS, "webhook_format": "template",
         "template": {"body": "to=13800138000&text=${summary}",
                      "content_type": "application/x-www-form-urlencoded"}},
    ],
)  # fmt: skip
def test_each_format_is_accepted_with_what_it_needs(
    client: TestClient, fields: dict[str, Any]
) -> None:
    response = post(client, **fields)
    assert response.status_code == 201, response.text
    assert response.json()["webhook_format"] == fields["webhook_format"]


def test_switching_formats_checks_the_stored_department(client: TestClient) -> None:
    dep = post(client, webhook_url=WECOM, webhook_format="wecom").json()
    url = f"/api/departments/{dep['id']}"
    # A WeCom department has no secret: turning it into a DingTalk robot needs one.
    refused = client.put(url, json={"webhook_url": DINGTALK, "webhook_format": "dingtalk"})
    assert refused.status_code == 422 and refused.json()["detail"].startswith("body.secret: ")
    changed = client.put(url, json={"webhook_url": DINGTALK, "webhook_format": "dingtalk",
                                    "secret": DINGTALK_SECRET})  # fmt: skip
    assert changed.status_code == 200 and changed.json()["secret_set"] is True
    # A new robot URL alone keeps the format.
    again = client.put(url, json={"webhook_url": DINGTALK.replace("abc123", "def456")})
    assert again.json()["webhook_format"] == "dingtalk"
    # Back to a plain webhook, signed with the stored secret.
    plain = client.put(url, json={"webhook_url": "https://x.example/h", "webhook_format":
                                  "emberwatch"})  # fmt: skip
    assert plain.status_code == 200 and plain.json()["webhook_format"] == "emberwatch"


def test_an_unknown_message_timezone_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        PublishConfig(message_timezone="Mars/Olympus")
