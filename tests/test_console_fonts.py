"""The Chinese console draws Chinese characters, not empty boxes.

A machine without a CJK font draws every Chinese character as the same "missing glyph" box
(tofu), exactly as it draws a code point that no font has. The test renders each character of
the zh-CN title in the title's own font, next to such a code point, and compares the pixels.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image

from tests.test_console import browser, login
from tests.test_console_screens import demo

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from tests.fixtures.app import LiveServer

__all__ = ["browser", "demo"]  # fixtures, imported from the console tests
pytestmark = [pytest.mark.browser, pytest.mark.slow]

# A private-use code point of plane 16: no font has a glyph for it, so it is always tofu.
NO_GLYPH = "\U0010fffd"


def _glyphs(page: Page, chars: list[str]) -> list[np.ndarray]:
    """Each character drawn alone in a same-sized box in the title's font, black on white, as a
    greyscale array."""
    page.evaluate(
        """(chars) => {
            const row = document.createElement("div");
            row.style.cssText = "position:fixed;left:0;top:0;z-index:9999;display:flex";
            row.style.font = getComputedStyle(document.querySelector(".brand span")).font;
            document.body.append(row);
            for (const [i, c] of chars.entries()) {
                const box = document.createElement("span");
                box.id = `glyph-${i}`;
                box.textContent = c;
                box.style.cssText = "display:inline-block;width:2em;height:1.6em;" +
                    "text-align:center;background:#fff;color:#000";
                row.append(box);
            }
        }""",
        chars,
    )
    shots = [page.locator(f"#glyph-{i}").screenshot() for i in range(len(chars))]
    return [np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.int16) for png in shots]


def test_chinese_title_has_glyphs_not_boxes(browser: Browser, demo: LiveServer) -> None:
    from playwright.sync_api import expect

    page = login(browser, demo.url, "maria", locale="zh-CN")
    title = page.locator(".brand span")
    expect(title).to_have_text("Emberwatch 林火瞭望")
    chinese = [c for c in title.inner_text() if ord(c) > 0x2E80]
    *drawn, missing = _glyphs(page, [*chinese, NO_GLYPH])
    page.context.close()

    for char, picture in zip(chinese, drawn, strict=True):
        assert picture.shape == missing.shape
        assert (picture < 128).sum() > 20, f"{char} draws nothing"
        assert np.abs(picture - missing).max() > 100, f"{char} is drawn as a missing-glyph box"
    for i in range(len(drawn) - 1):
        assert np.abs(drawn[i] - drawn[i + 1]).max() > 100, "two characters, one picture"
