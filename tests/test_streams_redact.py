"""Credentials never leave the stream layer: URL and free-text redaction."""

from __future__ import annotations

import pytest

from streams.redact import redact_text, redact_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rtsp://admin:secret@10.0.0.5:554/live", "rtsp://admin:***@10.0.0.5:554/live"),
        ("rtsp://admin:s3cr%40t@cam.local/ch1", "rtsp://admin:***@cam.local/ch1"),
        # An unescaped "@" inside the password: everything up to the last "@" is masked.
        ("rtsp://admin:p@ss@cam.local/ch1", "rtsp://admin:***@cam.local/ch1"),
        ("rtsp://:onlypass@cam/x", "rtsp://:***@cam/x"),
        ("http://user:pw@host", "http://user:***@host"),
        ("rtsp://viewer@cam.local/ch1", "rtsp://viewer@cam.local/ch1"),
        ("rtsp://cam.local:554/ch1", "rtsp://cam.local:554/ch1"),
        ("rtsp://cam/x?token=abc123&channel=2", "rtsp://cam/x?token=***&channel=2"),
        ("rtsp://cam/x?channel=2&password=hunter2", "rtsp://cam/x?channel=2&password=***"),
        ("rtsp://cam/x?user=bob&pwd=123", "rtsp://cam/x?user=bob&pwd=***"),
        ("rtsp://cam/x?PASS=abc", "rtsp://cam/x?PASS=***"),
        ("rtsp://cam/x?api_key=k&secret=s&auth=a", "rtsp://cam/x?api_key=***&secret=***&auth=***"),
        ("rtsp://cam/x?access_token=t#frag", "rtsp://cam/x?access_token=***#frag"),
        ("rtsp://cam/x?token=", "rtsp://cam/x?token="),
        ("rtsp://u:p@cam/x?token=t&q=1", "rtsp://u:***@cam/x?token=***&q=1"),
        ("/var/videos/clip.mp4", "/var/videos/clip.mp4"),
        ("clips/a:b@c.mp4", "clips/a:b@c.mp4"),
        ("", ""),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        (
            "rtsp://admin:secret@10.0.0.5/live: Connection refused",
            [],
            "rtsp://admin:***@10.0.0.5/live: Connection refused",
        ),
        (
            "[Errno 111] Connection refused: 'rtsp://a:b1@h/x' and 'rtsp://c:d2@h/y'",
            [],
            "[Errno 111] Connection refused: 'rtsp://a:***@h/x' and 'rtsp://c:***@h/y'",
        ),
        # A library that prints only the password (or a decoded one) is caught by the secrets.
        (
            "auth failed for password hunter2",
            ["rtsp://admin:hunter2@cam/x"],
            "auth failed for password ***",
        ),
        ("token zzz9 rejected", ["rtsp://cam/x?token=zzz9"], "token *** rejected"),
        ("plain secret s3cret here", ["s3cret"], "plain secret *** here"),
        # Very short secrets are only masked inside URLs.
        ("a b c", ["rtsp://u:a@cam/x"], "a b c"),
        ("no url at all", ["rtsp://cam/x"], "no url at all"),
    ],
)
def test_redact_text(text: str, secrets: list[str], expected: str) -> None:
    assert redact_text(text, secrets) == expected


def test_redact_url_is_idempotent() -> None:
    url = "rtsp://admin:secret@cam/x?token=abc"
    assert redact_url(redact_url(url)) == redact_url(url)
