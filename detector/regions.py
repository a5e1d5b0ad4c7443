"""Pure rules over a camera's cells: which ready cells form one region, and what mutes do.

Cells are the fixed tiles of a view (normalised boxes, :mod:`detector.evidence`). Mutes are the
regions operators dismissed (:class:`detector.types.Mute`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from detector.evidence import area, intersection, touches, union_box
from detector.types import Box, Mute, Reason

# A cell counts as inside a mute when the mute covers at least this share of it.
MUTE_COVER = 0.25


def mute_level(mute: Mute, ts: float, half_life_s: float) -> float:
    """The muted level at ``ts``: it halves every ``half_life_s`` seconds after the dismissal."""
    return float(mute.level * 0.5 ** (max(ts - mute.since, 0.0) / half_life_s))


def covered(cell: Box, mute: Mute) -> bool:
    return intersection(cell, mute.box) >= MUTE_COVER * area(cell)


def adjacent(cells: Sequence[Box], a: Iterable[int], b: Iterable[int]) -> bool:
    """True when a cell of ``a`` touches a cell of ``b`` (overlap or a shared edge)."""
    others = [cells[j] for j in b]
    return any(touches(cells[i], box) for i in a for box in others)


def groups(cells: Sequence[Box], ready: Iterable[int]) -> list[set[int]]:
    """The ``ready`` cells in connected groups (cells whose boxes touch)."""
    found: list[set[int]] = []
    for c in ready:
        joined = [g for g in found if adjacent(cells, g, [c])]
        found = [g for g in found if g not in joined] + [{c}.union(*joined)]
    return found


def region_box(cells: Sequence[Box], members: Iterable[int]) -> Box:
    return union_box([cells[c] for c in sorted(members)])


def thresholds(
    cells: Sequence[Box],
    mutes: Iterable[Mute],
    open_thr: float,
    ts: float,
    *,
    half_life_s: float,
    margin: float,
) -> np.ndarray:
    """Opening threshold of every cell for one class (``mutes`` of that class only): the
    class's, raised inside each mute to its decayed level plus ``margin``."""
    thr = np.full(len(cells), open_thr)
    for mute in mutes:
        level = mute_level(mute, ts, half_life_s) + margin
        for c, box in enumerate(cells):
            if covered(box, mute):
                thr[c] = max(thr[c], level)
    return thr


def muted_reason(
    cells: Sequence[Box], members: set[int], mutes: Iterable[Mute]
) -> tuple[Reason, int | None]:
    """How a new region relates to mutes of its class: inside one (it rose above the muted
    level), spreading from one, or unrelated; with the dismissed event it links to."""
    box = region_box(cells, members)
    for mute in mutes:
        if not touches(box, mute.box):
            continue
        if all(covered(cells[c], mute) for c in members):
            return Reason.ROSE_SINCE_DISMISSED, mute.event_id
        return Reason.GREW_SINCE_DISMISSED, mute.event_id
    return Reason.NONE, None
