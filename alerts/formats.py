"""A webhook department's format in the API: the template's body, and what each format needs.

:func:`channel_problem` checks a department as it will be stored (after a ``PUT`` merged it
with the stored one): the robot URL of its format, the secret its format signs with, a
template for ``template``. Answers show a template's header values masked, like secrets.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from alerts.departments import DepartmentSpec
from alerts.robots import SIGNED
from alerts.template import (
    FIELDS,
    WebhookTemplate,
    body_problem,
    fields_problem,
    header_problem,
)
from store.alert_tables import WebhookFormat
from streams.redact import MASK

_CONTENT_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+(\s*;\s*[\w.+-]+=[\w.+\"-]+)*$")
_FIELD_LIST = ", ".join(f"${{{name}}}" for name in FIELDS)


def _invalid(message: str) -> PydanticCustomError:
    return PydanticCustomError("value_error", message)


class TemplateIn(BaseModel):
    """What a ``template`` department sends: ``${field}`` in ``body`` (and in the URL) is
    replaced by the alert's value, escaped for the content type."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["POST", "PUT", "GET"] = "POST"
    content_type: str = Field(
        "application/json",
        max_length=100,
        description="Of the body: application/json escapes values as JSON string content, "
        "application/x-www-form-urlencoded form-encodes them, other types take them as they are.",
    )
    headers: dict[str, str] | None = Field(
        None,
        max_length=20,
        description="Extra headers, e.g. the gateway's API key. Write-only: answers mask the "
        "values. Omitted in a PUT: the stored headers are kept.",
    )
    body: str = Field("", max_length=4000, description=f"The body template. Fields: {_FIELD_LIST}.")

    @field_validator("content_type")
    @classmethod
    def _type(cls, value: str) -> str:
        if not _CONTENT_TYPE.match(value):
            raise _invalid(f"{value!r} is not a content type such as application/json")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for name, text in (value or {}).items():
            problem = header_problem(name, text)
            if problem is not None:
                raise _invalid(problem)
        return value

    @field_validator("body")
    @classmethod
    def _body(cls, value: str, info: ValidationInfo) -> str:
        method, content_type = info.data.get("method"), info.data.get("content_type")
        if method is None or content_type is None:
            return value  # reported on their own fields
        problem = body_problem(WebhookTemplate(method, content_type, value))
        if problem is not None:
            raise _invalid(problem)
        return value

    def build(self, current: WebhookTemplate | None) -> WebhookTemplate:
        """The template to store; headers not sent are those of ``current``."""
        if self.headers is not None:
            headers = tuple(self.headers.items())
        else:
            headers = current.headers if current else ()
        return WebhookTemplate(self.method, self.content_type, self.body, headers)


class TemplateOut(BaseModel):
    method: str
    content_type: str
    headers: dict[str, str] = Field(description="Names as set; values masked.")
    body: str

    @classmethod
    def of(cls, template: WebhookTemplate | None) -> TemplateOut | None:
        if template is None:
            return None
        headers = {name: MASK for name, _ in template.headers}
        return cls(
            method=template.method,
            content_type=template.content_type,
            headers=headers,
            body=template.body,
        )


def _url_problem(fmt: WebhookFormat, url: str) -> str | None:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if fmt is WebhookFormat.DINGTALK and not query.get("access_token"):
        return "a DingTalk robot's URL ends in /robot/send?access_token=… (robot settings)"
    if fmt is WebhookFormat.WECOM and not query.get("key"):
        return "a WeCom group robot's URL ends in /webhook/send?key=… (robot settings)"
    if fmt is WebhookFormat.FEISHU and not re.search(r"/hook/[^/]+$", parts.path):
        return "a Feishu bot's URL ends in /open-apis/bot/v2/hook/<token> (bot settings)"
    if fmt is WebhookFormat.TEMPLATE:
        return fields_problem(url)
    return None


def _secret_problem(spec: DepartmentSpec, secret: str) -> str | None:
    fmt = spec.webhook_format if spec.webhook_url else WebhookFormat.EMBERWATCH
    if fmt not in SIGNED:
        return None
    if not secret:
        return f"required: {'this format' if spec.webhook_url else 'the channel'} signs with it"
    if fmt is WebhookFormat.DINGTALK and not secret.startswith("SEC"):
        return "a DingTalk robot's signing secret starts with SEC (robot security settings: 加签)"
    return None


def channel_problem(spec: DepartmentSpec, stored_secret: str = "") -> tuple[str, str] | None:
    """``(field, message)`` when ``spec`` cannot be delivered as set, or None."""
    fmt = spec.webhook_format
    if fmt is not WebhookFormat.EMBERWATCH and not spec.webhook_url:
        return "webhook_format", f"{fmt.value} needs webhook_url (the robot's or gateway's URL)"
    if spec.template is not None and fmt is not WebhookFormat.TEMPLATE:
        return "template", 'only for webhook_format "template"'
    if fmt is WebhookFormat.TEMPLATE and spec.template is None:
        return "template", "required for webhook_format template: method, content_type, body"
    if spec.webhook_url:
        problem = _url_problem(fmt, spec.webhook_url)
        if problem is not None:
            return "webhook_url", problem
    secret_problem = _secret_problem(spec, spec.secret or stored_secret)
    return None if secret_problem is None else ("secret", secret_problem)
