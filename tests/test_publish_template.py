"""Templated webhook bodies: values escaped for the content type, nothing evaluated."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from alerts.template import WebhookTemplate, body_problem, escaper, render

VALUES = {"message": 'A&B=c "火" 50%\\', "camera": "Ridge North (ridge)"}


def test_form_bodies_get_form_encoded_values() -> None:
    body = "to=13800138000&text=${message}&price=$$1"
    out = render(body, VALUES, escaper("application/x-www-form-urlencoded"))
    assert parse_qs(out) == {"to": ["13800138000"], "text": [VALUES["message"]], "price": ["$1"]}


def test_json_bodies_get_json_string_content() -> None:
    out = render(
        '{"text": "${message} @ $camera"}', VALUES, escaper("application/json; charset=utf-8")
    )
    assert json.loads(out) == {"text": f"{VALUES['message']} @ Ridge North (ridge)"}


def test_plain_bodies_take_values_as_they_are() -> None:
    assert render("${message}", VALUES, escaper("text/plain")) == VALUES["message"]


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        ("${message.__class__}", "a $ that starts no ${field}"),
        ("${__import__}", "unknown field __import__"),
        ("{{ message }} ${summary", "a $ that starts no ${field}"),
        ('{"n": ${event_id}}', "not JSON once filled in"),
    ],
)
def test_templates_that_would_do_more_than_fill_in_fields_are_refused(
    body: str, cause: str
) -> None:
    problem = body_problem(WebhookTemplate("POST", "application/json", body))
    assert problem is not None and cause in problem
