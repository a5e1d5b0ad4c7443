"""Secrets at rest: database columns encrypted with a key kept in a file beside the database.

Department webhook URLs, signing secrets and templates (headers with a gateway's API key), and
camera URLs with their passwords, are stored sealed with Fernet (AES-128-CBC with HMAC-SHA256,
``cryptography``) under a key in ``<data_dir>/secrets.key`` (mode 0600, created on the first
start). A copy of the database
alone, a backup or a dump, then reveals no credential; keep the key file out of such copies.

A sealed value is ``"sealed:" + token``. A value without the prefix is read as it is: rows
written before sealing existed, which :func:`seal_plaintext` seals at start.

Each engine gets its own box (:func:`bind_box`); :class:`SealedText` finds it through the
engine's dialect, so two apps in one process (tests) never share a key. On an engine without a
box (a maintenance script, a unit test of a store) values are written as they are, and a sealed
value cannot be read (:class:`SealingError`).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, cast
from weakref import WeakKeyDictionary

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Column, Engine, Text, select, type_coerce, update
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import KeyedColumnElement
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

KEY_FILE = "secrets.key"
PREFIX = "sealed:"


class SealingError(Exception):
    """A sealed value cannot be opened: no key, or not the key it was sealed with."""


class SecretBox:
    """Seals and opens strings with one Fernet key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, value: str) -> str:
        return PREFIX + self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def open(self, value: str) -> str:
        """The plain text of ``value``; a value without the prefix is returned as it is."""
        if not value.startswith(PREFIX):
            return value
        try:
            return self._fernet.decrypt(value[len(PREFIX) :]).decode("utf-8")
        except InvalidToken as exc:
            raise SealingError(
                f"a stored secret does not open with the key in {KEY_FILE}: the key file was "
                "replaced, or the database comes from another installation"
            ) from exc


def load_or_create_box(path: Path) -> SecretBox:
    """The box of the key in ``path``; a new key is written there (mode 0600) if absent."""
    try:
        return SecretBox(path.read_bytes().strip())
    except FileNotFoundError:
        pass
    key = Fernet.generate_key()
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key + b"\n")
    os.replace(tmp, path)
    log.info("created the key that seals stored secrets in %s (back it up apart)", path)
    return SecretBox(key)


_BOXES: WeakKeyDictionary[Dialect, SecretBox] = WeakKeyDictionary()


def bind_box(engine: Engine, box: SecretBox) -> None:
    """Seal :class:`SealedText` columns written through ``engine`` with ``box``."""
    _BOXES[engine.dialect] = box


def box_of(engine: Engine) -> SecretBox | None:
    return _BOXES.get(engine.dialect)


class SealedText(TypeDecorator[str]):
    """A text column stored sealed by the box bound to the engine (see the module doc)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        box = _BOXES.get(dialect)
        if value is None or box is None or value.startswith(PREFIX):
            return value
        return box.seal(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None or not str(value).startswith(PREFIX):
            return None if value is None else str(value)
        box = _BOXES.get(dialect)
        if box is None:
            raise SealingError("a stored secret is sealed, and this database has no key bound")
        return box.open(str(value))

    def from_stored(self, text: str) -> Any:
        """The Python value of an unsealed stored ``text`` (to write it back sealed)."""
        return text


class SealedJSON(TypeDecorator[Any]):
    """A JSON value stored as sealed text (a camera definition holds its URL's password)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        text = None if value is None else json.dumps(value, separators=(",", ":"))
        return SealedText().process_bind_param(text, dialect)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        text = SealedText().process_result_value(value, dialect)
        return None if text is None else json.loads(text)

    def from_stored(self, text: str) -> Any:
        return json.loads(text)


def seal_plaintext(engine: Engine, *columns: KeyedColumnElement[Any]) -> int:
    """Seal values of table ``columns`` (:class:`SealedText`, :class:`SealedJSON`) still
    stored in plain text, rows from before sealing; return how many."""
    if box_of(engine) is None:
        return 0
    sealed = 0
    with engine.begin() as conn:
        for element in columns:
            column = cast("Column[Any]", element)  # a table's column (``Row.__table__.c.x``)
            table, stored = column.table, type_coerce(column, Text())  # the raw stored text
            (key,) = table.primary_key.columns
            query = select(key, stored).where(
                column.is_not(None), ~stored.startswith(PREFIX, autoescape=True)
            )
            for row_key, plain in conn.execute(query).all():
                value = column.type.from_stored(plain)  # type: ignore[attr-defined]
                conn.execute(update(table).where(key == row_key).values({column.name: value}))
                sealed += 1
    if sealed:
        log.info("sealed %d stored secrets that were kept in plain text", sealed)
    return sealed
