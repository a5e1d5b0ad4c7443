"""The rendered-page cache: reused while current, re-rendered on a change or when too old."""

from __future__ import annotations

from api.page_cache import RenderedPages


class _Renders:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> bytes:
        self.count += 1
        return f"render {self.count}".encode()


def test_an_entry_expires_after_its_age_even_without_a_change() -> None:
    now = [100.0]
    pages = RenderedPages(lambda: 7, max_age_s=1.0, clock=lambda: now[0])
    render = _Renders()
    assert pages.get("q", render) == b"render 1"
    now[0] += 0.5
    assert pages.get("q", render) == b"render 1"
    now[0] += 0.6  # another process may have written to the database meanwhile
    assert pages.get("q", render) == b"render 2"


def test_queries_are_kept_apart_and_the_oldest_goes_first() -> None:
    pages = RenderedPages(lambda: 0, size=2, clock=lambda: 0.0)
    render = _Renders()
    assert pages.get("a", render) == b"render 1"
    assert pages.get("b", render) == b"render 2"
    assert pages.get("a", render) == b"render 1"  # a is now the newest
    assert pages.get("c", render) == b"render 3"  # b, the least recent, leaves
    assert pages.get("a", render) == b"render 1"
    assert pages.get("b", render) == b"render 4"


def test_a_change_while_rendering_leaves_the_entry_stale() -> None:
    generation = [0]
    pages = RenderedPages(lambda: generation[0], clock=lambda: 0.0)

    def render_during_a_change() -> bytes:
        generation[0] += 1  # a write commits while the old page is being read
        return b"old page"

    assert pages.get("q", render_during_a_change) == b"old page"
    assert pages.get("q", lambda: b"new page") == b"new page"
