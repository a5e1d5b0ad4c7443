"""Likely look-alikes: parts of a view that score above threshold for a long time without change.

The detector names them cell by cell (:meth:`detector.smoothing.CameraSmoother.look_alikes`);
a fog bank or a haze band covers several neighbouring cells. For the camera wall, where each one
becomes a mask proposal, touching cells of one class are merged into their bounding rectangle.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from detector.types import Box

# Boxes closer than this (a fraction of the frame) count as touching: tiles overlap or abut.
_TOUCH = 1e-3


@dataclass(frozen=True, slots=True)
class LookAlike:
    """A region of one class that has scored high for long without an event."""

    cls: str
    box: Box


def _touch(a: Box, b: Box) -> bool:
    apart_x = a[0] > b[2] + _TOUCH or b[0] > a[2] + _TOUCH
    return not apart_x and a[1] <= b[3] + _TOUCH and b[1] <= a[3] + _TOUCH


def _union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def merge_touching(cells: Iterable[tuple[str, Box]]) -> tuple[LookAlike, ...]:
    """Merge touching boxes of one class into their bounding rectangles (repeatedly, so a
    chain of cells becomes one region). Ordered by class, then top-left corner."""
    merged: list[LookAlike] = []
    for cls, box in cells:
        current = LookAlike(cls, box)
        changed = True
        while changed:
            changed = False
            for other in merged:
                if other.cls == cls and _touch(other.box, current.box):
                    merged.remove(other)
                    current = LookAlike(cls, _union(other.box, current.box))
                    changed = True
                    break
        merged.append(current)
    return tuple(sorted(merged, key=lambda la: (la.cls, la.box[1], la.box[0])))
