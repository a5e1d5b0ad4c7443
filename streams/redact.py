"""Hide credentials in camera URLs and in error messages that embed them.

Camera URLs carry passwords (``rtsp://admin:secret@10.0.0.5/stream``), some carry a token as the
whole user name (``rtsp://TOKEN@host/x``), and some vendors put tokens in the query string
(``?token=...``). Everything that leaves the stream layer for a log line or an API response goes
through :func:`redact_url` or :func:`redact_text`.

URLs are split by hand rather than with :func:`urllib.parse.urlsplit`, because pasted camera
passwords are often not percent-escaped: ``rtsp://user:s3cret/PW3@host/x`` holds a ``/`` that
``urlsplit`` takes for the start of the path. Here the user information runs from ``://`` to the
LAST ``@`` of the URL, so a password may hold ``/ ? # : @`` unescaped; an ``@`` in a path or query
masks more than needed, never less.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

MASK = "***"

# Query parameter names treated as secret: any name containing one of these words, so that
# ``password``, ``passwd``, ``access_token``, ``apikey``, ``api_key`` and ``X-Auth`` all match.
_SECRET_WORDS = ("pass", "pwd", "token", "key", "secret", "auth", "sig")
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
# Characters that end a sentence or quote around a URL in free text rather than belong to it.
_TRAILING = "'\"),.;:]>}"
# Secrets shorter than this are masked inside URLs only: masking every "a" would garble text.
_MIN_SECRET = 3
_SPACE = re.compile(r"(\s+)")


@dataclass(frozen=True, slots=True)
class UrlParts:
    """A URL cut into ``scheme://``, its user information (None: no ``@``) and the rest."""

    prefix: str
    userinfo: str | None
    rest: str

    @property
    def password(self) -> str:
        """The secret part of the user information: after the first ``:``, or all of it when
        there is no ``:`` (a token given as the user name)."""
        if self.userinfo is None:
            return ""
        user, colon, password = self.userinfo.partition(":")
        return password if colon else user

    def query_pairs(self) -> list[tuple[str, str]]:
        """``(name, value)`` of each ``name=value`` in the query (``&`` or ``;`` separated)."""
        query = self.rest.partition("#")[0].partition("?")[2]
        pairs = (p.partition("=") for p in query.replace(";", "&").split("&"))
        return [(name, value) for name, eq, value in pairs if eq]


def split_url(url: str) -> UrlParts | None:
    """``url`` cut into its parts; None when it has no ``scheme://`` (a file path)."""
    scheme, sep, after = url.partition("://")
    if not sep or not _is_scheme(scheme):
        return None
    userinfo, at, rest = after.rpartition("@")
    if not at:
        return UrlParts(scheme + sep, None, after)
    return UrlParts(scheme + sep, userinfo, rest)


def _is_scheme(text: str) -> bool:
    return bool(text) and text[0].isascii() and text[0].isalpha() and set(text) <= _SCHEME_CHARS


def is_secret_param(name: str) -> bool:
    """Whether a query parameter called ``name`` holds a credential."""
    lowered = unquote(name).lower()
    return any(word in lowered for word in _SECRET_WORDS)


def _mask_userinfo(userinfo: str) -> str:
    user, colon, password = userinfo.partition(":")
    if not colon:
        return MASK if user else user
    return f"{user}:{MASK}" if password else userinfo


def _mask_query(rest: str) -> str:
    head, question, tail = rest.partition("?")
    if not question:
        return rest
    query, hash_, fragment = tail.partition("#")
    parts = []
    for piece in query.split("&"):
        pairs = []
        for pair in piece.split(";"):
            name, eq, value = pair.partition("=")
            secret = eq and value and is_secret_param(name)
            pairs.append(f"{name}={MASK}" if secret else pair)
        parts.append(";".join(pairs))
    return f"{head}?{'&'.join(parts)}{hash_}{fragment}"


def redact_url(url: str) -> str:
    """Return ``url`` with its credentials masked: the password of its user information (the
    whole user name when it has no password: a token) and the values of secret query keys.

    ``rtsp://user:pass@host/x?token=abc&ch=1`` becomes ``rtsp://user:***@host/x?token=***&ch=1``;
    ``rtsp://TOKEN@host/y`` becomes ``rtsp://***@host/y``. A file path or a URL without
    credentials comes back unchanged. Never raises.
    """
    parts = split_url(url)
    if parts is None:
        return url
    userinfo = "" if parts.userinfo is None else _mask_userinfo(parts.userinfo) + "@"
    return parts.prefix + userinfo + _mask_query(parts.rest)


def url_secrets(url: str) -> list[str]:
    """The raw secret strings in ``url`` (password or token user name, secret query values),
    each also percent-decoded; nothing for a file path or a URL without credentials."""
    parts = split_url(url)
    if parts is None:
        return []
    found = [parts.password] if parts.password else []
    found += [value for name, value in parts.query_pairs() if value and is_secret_param(name)]
    return found + [unquote(s) for s in found]


def _redact_token(token: str) -> str:
    """One whitespace-free piece of text with each URL in it redacted."""
    starts = _url_starts(token)
    if not starts:
        return token
    out = [token[: starts[0]]]
    for start, end in zip(starts, [*starts[1:], len(token)], strict=True):
        piece = token[start:end]
        url = piece.rstrip(_TRAILING)
        out.append(redact_url(url) + piece[len(url) :])
    return "".join(out)


def _url_starts(token: str) -> list[int]:
    """Offsets where a ``scheme://`` begins in ``token``."""
    starts: list[int] = []
    found = token.find("://")
    while found > 0:
        start = found
        while start > 0 and token[start - 1] in _SCHEME_CHARS:
            start -= 1
        if _is_scheme(token[start:found]) and (not starts or start > starts[-1]):
            starts.append(start)
        found = token.find("://", found + 3)
    return starts


def redact_text(text: str, *, urls: Iterable[str] = (), secrets: Iterable[str] = ()) -> str:
    """Mask credentials in free text such as an exception message that embeds a URL.

    Every URL in ``text`` is redacted as by :func:`redact_url`. In addition, the credentials of
    each URL in ``urls`` (pass the camera's URL; a file path has none, so it stays readable) and
    each string in ``secrets`` (a webhook secret, a password) are masked wherever they appear,
    also percent-decoded, so a library that prints a password without its URL is caught too.
    Secrets shorter than 3 characters are only masked inside URLs.
    """
    out = "".join(_redact_token(piece) for piece in _SPACE.split(text))
    words = {s for s in secrets if s}
    for url in urls:
        words.update(url_secrets(url))
    # Longest first so that a secret containing another is masked whole.
    for word in sorted(words, key=len, reverse=True):
        if len(word) >= _MIN_SECRET:
            out = out.replace(word, MASK)
    return out
