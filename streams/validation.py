"""Validation and YAML errors worded for the person who wrote the input, in one language for
every configuration: the service's file, a model's ``model.yaml`` and the API's request bodies.

Pydantic's own messages are reworded where they do not help a person: an extra key is an
``unknown key`` (the models forbid them), a validator's message loses pydantic's ``Value error,``
prefix, and an item of a list of objects that have an ``id`` (cameras) is named by that id, not
by its position: ``cameras.ridge-north.fps``, not ``cameras.0.fps``. A YAML error names the
file, the line and the column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

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


def yaml_problem(path: Path, exc: yaml.YAMLError) -> str:
    """``path``, line and column, and what the parser expected."""
    mark = getattr(exc, "problem_mark", None)
    what = "; ".join(
        str(part) for part in (getattr(exc, "context", None), getattr(exc, "problem", None)) if part
    )
    if mark is None or not what:
        return f"{path} is not valid YAML: {exc}"
    return f"{path} is not valid YAML: line {mark.line + 1}, column {mark.column + 1}: {what}"
