"""HMAC signatures: webhook bodies (department secret) and expiring snapshot URLs (server key).

Webhook body: header ``X-Emberwatch-Signature: sha256=<hex>`` where ``<hex>`` is
HMAC-SHA256 of the raw request body bytes, keyed with the department's secret (UTF-8).

Snapshot URL: ``…/api/published/<event_id>/snapshot.jpg?expires=<epoch s>&sig=<hex>``, where
``<hex>`` is HMAC-SHA256 of ``"<event_id>:<expires>"`` keyed with the server's signing key.

Group robots sign as their services document it (both accept a timestamp within an hour):

* DingTalk: ``sign`` = Base64(HMAC-SHA256(key=secret, msg="<timestamp ms>\n<secret>")), sent
  URL-encoded in the query with ``timestamp``;
* Feishu: ``sign`` = Base64(HMAC-SHA256(key="<timestamp s>\n<secret>", msg=b"")), sent in the
  JSON body with ``timestamp``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Emberwatch-Signature"
SIGNATURE_PREFIX = "sha256="
KEY_FILE = "publish-signing.key"
#: A snapshot link's ``sig``: HMAC-SHA256 as 64 lower-case hex digits.
SIGNATURE_PATTERN = r"^[0-9a-f]{64}$"
_SIGNATURE = re.compile(SIGNATURE_PATTERN)


def sign_body(secret: str, body: bytes) -> str:
    """The ``X-Emberwatch-Signature`` header value for ``body``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify_body(secret: str, body: bytes, header: str | None) -> bool:
    """True when ``header`` is the signature of ``body`` with ``secret`` (constant time)."""
    if not header:
        return False
    return hmac.compare_digest(sign_body(secret, body).encode(), header.strip().encode())


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """A DingTalk robot's ``sign`` (Base64; URL-encode it into the query)."""
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """A Feishu (Lark) custom bot's ``sign``: the key is the timestamp and secret, the message
    empty."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def new_token(nbytes: int = 24) -> str:
    """An unguessable URL-safe token (ack links, generated secrets)."""
    return secrets.token_urlsafe(nbytes)


def load_or_create_key(path: Path) -> str:
    """The signing key stored in ``path``; a new random one is written (mode 0600) if absent.

    Kept on disk so that signed links handed out before a restart stay valid after it.
    """
    try:
        key = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        key = ""
    if len(key) >= 32:
        return key
    key = secrets.token_hex(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(key + "\n")
    os.replace(tmp, path)
    log.info("created a snapshot link signing key in %s", path)
    return key


@dataclass(frozen=True, slots=True)
class SnapshotSigner:
    """Signs and checks expiring snapshot links with the server key."""

    key: str

    def signature(self, event_id: int, expires: int) -> str:
        message = f"{event_id}:{expires}".encode()
        return hmac.new(self.key.encode("utf-8"), message, hashlib.sha256).hexdigest()

    def query(self, event_id: int, expires: int) -> str:
        """``expires=…&sig=…`` for a link valid until ``expires`` (epoch seconds)."""
        return f"expires={expires}&sig={self.signature(event_id, expires)}"

    def valid(self, event_id: int, expires: int, sig: str, now: float) -> bool:
        """True when ``sig`` signs (event_id, expires) and ``expires`` is not past ``now``."""
        # Format first: compare_digest raises TypeError on a non-ASCII str, and comparing bytes
        # keeps the comparison constant-time whatever the client sent.
        if expires < now or not _SIGNATURE.fullmatch(sig):
            return False
        return hmac.compare_digest(self.signature(event_id, expires).encode(), sig.encode())
