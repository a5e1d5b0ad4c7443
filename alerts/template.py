"""Templated webhooks (SMS gateways and the like): a URL and a body with ``${name}`` fields.

A template is Python's :class:`string.Template` text: ``${camera}`` (or ``$camera``) is
replaced by a value of the alert, ``$$`` is a literal ``$``; nothing else is evaluated. The
fields are :data:`FIELDS`. Each value is escaped for where it goes: JSON string content in a
``application/json`` body (the template supplies the quotes), form encoding in an
``application/x-www-form-urlencoded`` body and in the URL, as is in any other body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from string import Template
from typing import Any
from urllib.parse import quote_plus

#: The fields a template may use, with what they hold.
FIELDS: Mapping[str, str] = {
    "summary": "one line for an SMS: class, camera, time, location, message, snapshot link",
    "camera": "camera name and id",
    "cls": "class (smoke, flame)",
    "time": "start of the event, in publish.message_timezone",
    "location": "estimated position (latitude, longitude) or the bearing; or 'unknown'",
    "link": "signed snapshot link (empty without a snapshot)",
    "message": "the operator's message",
    "ack_link": "the department's acknowledgement link",
    "event_id": "the event id",
    "score": "peak score, 0..1",
    "department": "the department's name",
}

# A sample alert: a template is rendered with it when it is set, to check its result.
_SAMPLE = {name: f'sample "{name}" & ${{x}} 值' for name in FIELDS}
_METHODS_WITHOUT_BODY = ("GET",)


@dataclass(frozen=True, slots=True)
class WebhookTemplate:
    """What a templated department sends (besides its URL, which may hold fields too)."""

    method: str = "POST"
    content_type: str = "application/json"
    body: str = ""
    headers: tuple[tuple[str, str], ...] = ()

    def stored(self) -> dict[str, Any]:
        """The JSON kept in the departments table."""
        return {
            "method": self.method,
            "content_type": self.content_type,
            "body": self.body,
            "headers": dict(self.headers),
        }

    @classmethod
    def load(cls, data: Mapping[str, Any] | None) -> WebhookTemplate | None:
        if not data:
            return None
        headers = tuple((str(k), str(v)) for k, v in dict(data.get("headers") or {}).items())
        return cls(
            method=str(data.get("method", "POST")),
            content_type=str(data.get("content_type", "application/json")),
            body=str(data.get("body", "")),
            headers=headers,
        )


def fields_problem(text: str) -> str | None:
    """Why ``text`` is not a usable template (bad ``$`` or unknown fields), or None."""
    template = Template(text)
    if not template.is_valid():
        return "a $ that starts no ${field} (write $$ for a literal $)"
    unknown = sorted(set(template.get_identifiers()) - set(FIELDS))
    if unknown:
        known = ", ".join(f"${{{name}}}" for name in FIELDS)
        return f"unknown field {', '.join(unknown)}; the fields are {known}"
    return None


def body_problem(template: WebhookTemplate) -> str | None:
    """Why the body cannot be sent with its method and content type, or None."""
    if template.method in _METHODS_WITHOUT_BODY and template.body:
        return f"a {template.method} request has no body: put the fields into the URL"
    problem = fields_problem(template.body)
    if problem is not None:
        return problem
    if is_json(template.content_type) and template.body:
        try:
            json.loads(render(template.body, _SAMPLE, escaper(template.content_type)))
        except ValueError as exc:
            return f'the body is not JSON once filled in ({exc}); quote fields: "${{message}}"'
    return None


def is_json(content_type: str) -> bool:
    base = content_type.split(";", 1)[0].strip().lower()
    return base == "application/json" or base.endswith("+json")


def _json_text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


def escaper(content_type: str) -> Callable[[str], str]:
    """How values are escaped in a body of this content type."""
    base = content_type.split(";", 1)[0].strip().lower()
    if is_json(base):
        return _json_text
    if base == "application/x-www-form-urlencoded":
        return quote_plus
    return str


def url_escape(value: str) -> str:
    return quote_plus(value)


def render(text: str, values: Mapping[str, str], escape: Callable[[str], str]) -> str:
    """``text`` with each field replaced by its escaped value (checked templates only)."""
    return Template(text).substitute({k: escape(v) for k, v in values.items()})


_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
# Set by the sender; a template cannot replace them.
RESERVED_HEADERS = frozenset({"content-type", "content-length", "host", "transfer-encoding"})


def header_problem(name: str, value: str) -> str | None:
    if not _HEADER_NAME.match(name):
        return f"{name!r} is not a header name"
    if name.lower() in RESERVED_HEADERS:
        return f"{name} is set by the sender (content_type sets Content-Type)"
    if any(c in value for c in "\r\n\0"):
        return f"the value of {name} has a line break"
    return None
