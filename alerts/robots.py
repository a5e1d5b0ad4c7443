"""Webhook formats: the HTTP request each kind of webhook department gets, and its answer.

* ``emberwatch``: the signed ``emberwatch.alert/1`` body (see :mod:`alerts.sender`).
* ``dingtalk``: a markdown message to a DingTalk custom robot; ``timestamp`` (ms) and ``sign``
  (:func:`alerts.signing.dingtalk_sign`) are added to the robot's URL. Success is
  ``{"errcode": 0}``.
* ``wecom``: a markdown message to a WeCom group robot (``…/webhook/send?key=…``); the key in
  the URL is the only credential. Success is ``{"errcode": 0}``.
* ``feishu``: an interactive card to a Feishu (Lark) custom bot (``…/bot/v2/hook/<token>``) with
  ``timestamp`` (s) and ``sign`` (:func:`alerts.signing.feishu_sign`) in the body. Success
  is ``{"code": 0}`` (older bots: ``{"StatusCode": 0}``).
* ``template``: the department's own method, headers and body (:mod:`alerts.template`);
  any 2xx is success.

The robots sign with the time of each attempt (they refuse a timestamp more than an hour
off), so a retry of a robot message is signed anew; only ``emberwatch`` bodies are the same
bytes on every attempt.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from alerts.payload import DeliveryInfo, render_body
from alerts.records import DueDelivery
from alerts.robotmsg import (
    alert_text,
    dingtalk_message,
    feishu_message,
    template_values,
    wecom_message,
)
from alerts.signing import SIGNATURE_HEADER, dingtalk_sign, feishu_sign, sign_body
from alerts.template import escaper, render, url_escape
from store.alert_tables import WebhookFormat
from streams.redact import MASK, redact_url

USER_AGENT = "emberwatch-alerts/1"
JSON_TYPE = "application/json; charset=utf-8"
#: Formats that sign with the department's secret (the others need none).
SIGNED = frozenset({WebhookFormat.EMBERWATCH, WebhookFormat.DINGTALK, WebhookFormat.FEISHU})
_SERVICE = {WebhookFormat.DINGTALK: "DingTalk", WebhookFormat.WECOM: "WeCom",
            WebhookFormat.FEISHU: "Feishu"}  # fmt: skip
# The secret part of a Feishu bot URL: the token after /hook/.
_FEISHU_TOKEN = re.compile(r"(/hook/)([^/?#\s]+)")


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    url: str
    content: bytes = field(repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)


def emberwatch_headers(due: DueDelivery, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: sign_body(due.secret, body),
        "X-Emberwatch-Delivery": due.uid,
        "X-Emberwatch-Event": str(due.event_id),
        "Idempotency-Key": due.idempotency_key,
    }


def _json(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _with_query(url: str, extra: str) -> str:
    return f"{url}{'&' if urlsplit(url).query else '?'}{extra}"


def _robot(url: str, message: Mapping[str, Any]) -> HttpRequest:
    headers = {"Content-Type": JSON_TYPE, "User-Agent": USER_AGENT}
    return HttpRequest("POST", url, _json(message), headers)


def _template(due: DueDelivery, url: str, values: Mapping[str, str]) -> HttpRequest:
    template = due.template
    if template is None:
        raise ValueError("a template department without a template")
    headers = {"User-Agent": USER_AGENT, "Idempotency-Key": due.idempotency_key}
    headers.update(template.headers)
    content = render(template.body, values, escaper(template.content_type)).encode("utf-8")
    if content:
        headers["Content-Type"] = template.content_type
    return HttpRequest(template.method, render(url, values, url_escape), content, headers)


def outgoing_request(due: DueDelivery, info: DeliveryInfo, now: float, tz: tzinfo) -> HttpRequest:
    """The request of one attempt to a webhook department, signed at ``now`` (epoch s)."""
    url, fmt = due.url or "", due.webhook_format
    if fmt is WebhookFormat.EMBERWATCH:
        body = render_body(due.payload, info)
        return HttpRequest("POST", url, body, emberwatch_headers(due, body))
    text = alert_text(due.payload, info, tz)
    if fmt is WebhookFormat.DINGTALK:
        ms = int(now * 1000)
        sign = quote(dingtalk_sign(due.secret, ms), safe="")
        return _robot(_with_query(url, f"timestamp={ms}&sign={sign}"), dingtalk_message(text))
    if fmt is WebhookFormat.WECOM:
        return _robot(url, wecom_message(text))
    if fmt is WebhookFormat.FEISHU:
        seconds = int(now)
        auth = {"timestamp": str(seconds), "sign": feishu_sign(due.secret, seconds)}
        return _robot(url, auth | feishu_message(text))
    return _template(due, url, template_values(text))


def _http_error(response: httpx.Response) -> str:
    text = " ".join(response.text.split())[:200]
    return f"HTTP {response.status_code}: {text}".rstrip(": ")


def _robot_error(fmt: WebhookFormat, response: httpx.Response) -> str | None:
    service = _SERVICE[fmt]
    try:
        answer = response.json()
    except ValueError:
        return f"{service} answered no JSON: {_http_error(response)}"
    if not isinstance(answer, dict):
        return f"{service} answered no JSON object: {_http_error(response)}"
    names = ("code", "msg") if fmt is WebhookFormat.FEISHU else ("errcode", "errmsg")
    code = answer.get(names[0], answer.get("StatusCode"))
    if code == 0:
        return None
    message = answer.get(names[1], answer.get("StatusMessage", ""))
    return f"{service} {names[0]} {code}: {message}".rstrip(": ")


def answer_error(fmt: WebhookFormat, response: httpx.Response) -> str | None:
    """Why the answer means "not delivered", or None: a 2xx (robots: with code 0)."""
    if not 200 <= response.status_code < 300:
        return _http_error(response)
    if fmt in _SERVICE:
        return _robot_error(fmt, response)
    return None


def shown_url(fmt: WebhookFormat, url: str) -> str:
    """``url`` as shown in answers and logs: passwords, token-like query values (DingTalk's
    ``access_token``, WeCom's ``key``) and a Feishu bot's token masked."""
    masked = redact_url(url)
    if fmt is WebhookFormat.FEISHU:
        masked = _FEISHU_TOKEN.sub(lambda m: m.group(1) + MASK, masked)
    return masked


def url_secrets(fmt: WebhookFormat, url: str) -> list[str]:
    """Credentials in a robot URL that must not appear in error texts, beyond redact_url's."""
    found = [m.group(2) for m in _FEISHU_TOKEN.finditer(url)] if fmt is WebhookFormat.FEISHU else []
    query = parse_qs(urlsplit(url).query)
    for name in ("access_token", "key"):
        found.extend(query.get(name, []))
    return found
