"""Validation errors in one wording, for the configuration file and the API alike.

Pydantic's own messages are reworded where they do not help a person: an extra key is an
``unknown key`` (the models forbid them), a validator's message loses pydantic's ``Value error,``
prefix, and an item of a list of objects that have an ``id`` (cameras) is named by that id, not
by its position: ``cameras.ridge-north.fps``, not ``cameras.0.fps``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

_PREFIXES = ("Value error, ", "Assertion failed, ")


def message(error: Mapping[str, Any]) -> str:
    """The message of one pydantic error (an item of ``ValidationError.errors()``)."""
    if error["type"] == "extra_forbidden":
        return "unknown key"
    msg = str(error["msg"])
    for prefix in _PREFIXES:
        msg = msg.removeprefix(prefix)
    return msg


def location(loc: Sequence[str | int], data: Any) -> str:
    """``loc`` as a dotted path through ``data`` (the validated input), list items that have an
    ``id`` named by it."""
    parts: list[str] = []
    node = data
    for step in loc:
        if isinstance(step, int) and isinstance(node, list) and 0 <= step < len(node):
            node = node[step]
            ident = node.get("id") if isinstance(node, Mapping) else None
            parts.append(str(ident) if isinstance(ident, str | int) and ident != "" else str(step))
        else:
            node = node.get(step) if isinstance(node, Mapping) else None
            parts.append(str(step))
    return ".".join(parts)


def describe(errors: Sequence[Mapping[str, Any]], data: Any) -> list[str]:
    """One ``where: what`` line per error; ``(top level)`` where the input as a whole is wrong."""
    return [f"{location(e['loc'], data) or '(top level)'}: {message(e)}" for e in errors]


def json_problem(doc: str | bytes, pos: int, reason: str) -> str:
    """Where a body that is not JSON goes wrong, as a person counts: line and column."""
    text = doc.decode("utf-8", "replace") if isinstance(doc, bytes) else doc
    if not text.strip():
        return "empty: send a JSON object"
    err = json.JSONDecodeError(reason, text, min(max(pos, 0), len(text)))
    return f"not valid JSON: {reason} at line {err.lineno}, column {err.colno}"
