"""Validation errors of the API in the wording of the configuration check
(:mod:`streams.validation`), and where a body that is not JSON goes wrong."""

from __future__ import annotations

import json

from streams.validation import describe, location, message

__all__ = ["describe", "json_problem", "location", "message"]


def json_problem(doc: str | bytes, pos: int, reason: str) -> str:
    """Where a body that is not JSON goes wrong, as a person counts: line and column."""
    text = doc.decode("utf-8", "replace") if isinstance(doc, bytes) else doc
    if not text.strip():
        return "empty: send a JSON object"
    err = json.JSONDecodeError(reason, text, min(max(pos, 0), len(text)))
    return f"not valid JSON: {reason} at line {err.lineno}, column {err.colno}"
