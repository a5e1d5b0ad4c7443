"""Hide credentials in camera URLs and in error messages that embed them.

Camera URLs carry passwords (``rtsp://admin:secret@10.0.0.5/stream``) and some vendors put tokens
in the query string (``?token=...``). Everything that leaves the stream layer for a log line or an
API response goes through :func:`redact_url` or :func:`redact_text`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

MASK = "***"

# Query parameter names treated as secret: any name containing one of these words, so that
# ``password``, ``passwd``, ``access_token``, ``apikey``, ``api_key`` and ``X-Auth`` all match.
_SECRET_PARAM = re.compile(r"pass|pwd|token|key|secret|auth|sig", re.IGNORECASE)

# ``scheme://userinfo@`` where userinfo holds a colon. The password may itself contain ``@`` or
# ``:`` when a user pasted it unescaped, so the password runs up to the LAST ``@`` before the path.
_USERINFO = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^/\s]*)@"
)

# ``name=value`` pairs in a query string (after ``?``, ``&`` or ``;``).
_QUERY_PAIR = re.compile(r"(?P<sep>[?&;])(?P<name>[^=&;#\s]+)=(?P<value>[^&;#\s]*)")


def _mask_userinfo(match: re.Match[str]) -> str:
    return f"{match.group('scheme')}{match.group('user')}:{MASK}@"


def _mask_query(match: re.Match[str]) -> str:
    name = match.group("name")
    if not _SECRET_PARAM.search(name) or not match.group("value"):
        return match.group(0)
    return f"{match.group('sep')}{name}={MASK}"


def redact_url(url: str) -> str:
    """Return ``url`` with the password of its userinfo and secret query values masked.

    ``rtsp://user:pass@host/x?token=abc&ch=1`` becomes ``rtsp://user:***@host/x?token=***&ch=1``.
    A file path or a URL without credentials comes back unchanged. Never raises.
    """
    out = _USERINFO.sub(_mask_userinfo, url)
    if "?" in out:
        head, _, tail = out.partition("?")
        out = head + _QUERY_PAIR.sub(_mask_query, "?" + tail)
    return out


def _url_secrets(url: str) -> list[str]:
    """The raw secret strings found in ``url`` (password, secret query values)."""
    found: list[str] = []
    match = _USERINFO.search(url)
    if match and match.group("pw"):
        found.append(match.group("pw"))
    try:
        query = urlsplit(url).query
    except ValueError:  # malformed netloc, e.g. an unbalanced "[" in the host
        query = url.partition("?")[2]
    for pair in _QUERY_PAIR.finditer("?" + query):
        if _SECRET_PARAM.search(pair.group("name")) and pair.group("value"):
            found.append(pair.group("value"))
    return found


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask credentials in free text such as an exception message that embeds a URL.

    Every URL in ``text`` is redacted as by :func:`redact_url`. In addition, each string in
    ``secrets`` is masked wherever it appears; pass the camera URL(s) here so that their
    passwords are removed even when a library prints them without the ``user:`` prefix or
    percent-decoded. Secrets shorter than 3 characters are only masked inside URLs, since
    masking every occurrence of ``"a"`` would make messages unreadable.
    """
    out = _USERINFO.sub(_mask_userinfo, text)
    out = _QUERY_PAIR.sub(_mask_query, out)
    words: set[str] = set()
    for secret in secrets:
        if "://" in secret:
            words.update(_url_secrets(secret))
        else:
            words.add(secret)
    # Longest first so that a secret containing another is masked whole.
    for word in sorted(words, key=len, reverse=True):
        if len(word) >= 3:
            out = out.replace(word, MASK)
    return out
