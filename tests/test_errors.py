"""Validation messages in one wording: paths by id, pydantic's prefixes gone, JSON positions."""

from __future__ import annotations

from typing import Any

import pytest

from api.errors import json_problem, location, message

CAMERAS = {"cameras": [{"id": "ridge-north", "url": "x"}, {"url": "y"}, "not a mapping"]}


@pytest.mark.parametrize(
    ("loc", "data", "expected"),
    [
        (("cameras", 0, "fps"), CAMERAS, "cameras.ridge-north.fps"),
        (("cameras", 1, "id"), CAMERAS, "cameras.1.id"),  # no id to name it by
        (("cameras", 2), CAMERAS, "cameras.2"),
        (("cameras", 7, "url"), CAMERAS, "cameras.7.url"),  # past the end: the index
        (("cameras", 0, "masks", 1), CAMERAS, "cameras.ridge-north.masks.1"),
        (("body", "note"), {"body": {"note": 1}}, "body.note"),
        (("query", "limit"), {"body": None}, "query.limit"),
        ((), CAMERAS, ""),
    ],
)
def test_location_names_list_items_by_their_id(
    loc: tuple[str | int, ...], data: Any, expected: str
) -> None:
    assert location(loc, data) == expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"type": "extra_forbidden", "msg": "Extra inputs are not permitted"}, "unknown key"),
        ({"type": "value_error", "msg": "Value error, mask 0 has 2 points"}, "mask 0 has 2 points"),
        ({"type": "assertion_error", "msg": "Assertion failed, no"}, "no"),
        ({"type": "missing", "msg": "Field required"}, "Field required"),
    ],
)
def test_message_drops_pydantic_wording(error: dict[str, str], expected: str) -> None:
    assert message(error) == expected


@pytest.mark.parametrize(
    ("doc", "pos", "expected"),
    [
        ('{"a": 1,\n  x}', 11, "not valid JSON: Expecting value at line 2, column 3"),
        (b'{"a" 1}', 5, "not valid JSON: Expecting value at line 1, column 6"),
        ("  \n", 0, "empty: send a JSON object"),
        ("{", 99, "not valid JSON: Expecting value at line 1, column 2"),  # clamped to the end
    ],
)
def test_json_problem_says_line_and_column(doc: str | bytes, pos: int, expected: str) -> None:
    assert json_problem(doc, pos, "Expecting value") == expected
