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
        # A "/" (or "?", "#") in an unescaped password: the user information runs to the last "@".
        ("rtsp://user:s3cret/PW3@host/x", "rtsp://user:***@host/x"),
        ("rtsp://user:a?b#c@host/x?ch=1", "rtsp://user:***@host/x?ch=1"),
        # No colon: the whole user name may be a token, so it is masked.
        ("rtsp://s3cretTOKEN@host/y", "rtsp://***@host/y"),
        ("rtsp://viewer@cam.local/ch1", "rtsp://***@cam.local/ch1"),
        ("rtsp://user:@cam/x", "rtsp://user:@cam/x"),
        ("rtsp://cam.local:554/ch1", "rtsp://cam.local:554/ch1"),
        ("rtsp://cam/x?token=abc123&channel=2", "rtsp://cam/x?token=***&channel=2"),
        ("rtsp://cam/x?channel=2&password=hunter2", "rtsp://cam/x?channel=2&password=***"),
        ("rtsp://cam/x?user=bob&pwd=123", "rtsp://cam/x?user=bob&pwd=***"),
        ("rtsp://cam/x?PASS=abc", "rtsp://cam/x?PASS=***"),
        ("rtsp://cam/x?api_key=k&secret=s&auth=a", "rtsp://cam/x?api_key=***&secret=***&auth=***"),
        ("rtsp://cam/x?access_token=t#frag", "rtsp://cam/x?access_token=***#frag"),
        ("rtsp://cam/x?token=", "rtsp://cam/x?token="),
        ("rtsp://u:p@cam/x?token=t&q=1", "rtsp://u:***@cam/x?token=***&q=1"),
        ("rtsp://cam/x?ch=1;Sig=abc;q=2", "rtsp://cam/x?ch=1;Sig=***;q=2"),
        ("rtsp://cam/x?pass%77ord=abc", "rtsp://cam/x?pass%77ord=***"),
        ("https://h/x?Token=a=b", "https://h/x?Token=***"),
        ("/var/videos/clip.mp4", "/var/videos/clip.mp4"),
        ("clips/a:b@c.mp4", "clips/a:b@c.mp4"),
        ("", ""),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize(
    ("text", "urls", "expected"),
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
        # A library that prints only the password (or a decoded one) is caught by the URLs.
        (
            "auth failed for password hunter2",
            ["rtsp://admin:hunter2@cam/x"],
            "auth failed for password ***",
        ),
        ("bad p@ss/w", ["rtsp://admin:p%40ss%2Fw@cam/x"], "bad ***"),
        ("token zzz9 rejected", ["rtsp://cam/x?token=zzz9"], "token *** rejected"),
        ("user s3cretTOKEN unknown", ["rtsp://s3cretTOKEN@host/y"], "user *** unknown"),
        (
            "Invalid URL 'rtsp://user:s3cret/PW3@host/x' (s3cret/PW3)",
            ["rtsp://user:s3cret/PW3@host/x"],
            "Invalid URL 'rtsp://user:***@host/x' (***)",
        ),
        # The colon after a redacted URL stays: "<what>: <cause>".
        (
            "rtsp://cam/x?token=***: cannot open: Connection refused",
            ["rtsp://cam/x?token=zzz9"],
            "rtsp://cam/x?token=***: cannot open: Connection refused",
        ),
        # Two URLs in one word, each cut at the next one's scheme.
        ("'rtsp://a:b1@h/x','rtsp://c:d2@h/y'", [], "'rtsp://a:***@h/x','rtsp://c:***@h/y'"),
        # Very short secrets are only masked inside URLs.
        ("a b c", ["rtsp://u:a@cam/x"], "a b c"),
        ("no url at all", ["rtsp://cam/x"], "no url at all"),
        # A file path is no credential: an error about a file names it.
        (
            "/srv/clips/ridge.mp4: cannot open: Invalid data found when processing input",
            ["/srv/clips/ridge.mp4"],
            "/srv/clips/ridge.mp4: cannot open: Invalid data found when processing input",
        ),
    ],
)
def test_redact_text(text: str, urls: list[str], expected: str) -> None:
    assert redact_text(text, urls=urls) == expected


def test_redact_text_masks_plain_secrets_wherever_they_appear() -> None:
    text = "webhook says: secret s3cret rejected by https://h/hook"
    out = redact_text(text, secrets=["s3cret", "https://h/hook", "ab"])
    assert out == "webhook says: secret *** rejected by ***"


def test_redact_url_is_idempotent() -> None:
    url = "rtsp://admin:secret@cam/x?token=abc"
    assert redact_url(redact_url(url)) == redact_url(url)
