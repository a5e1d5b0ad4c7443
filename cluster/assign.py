"""Which worker should hold which camera: pure functions of what the bus says now.

Every worker computes the same plan from the same inputs (the live workers with their
capacities, the configured cameras, the current lease holders) and acts only on its own part:
it takes free cameras planned for it and lets go of the ones planned for another. Leases are
exclusive on the bus, so two workers whose views briefly differ never hold one camera at once;
they agree again on the next renewal.

The plan moves as few cameras as it can: a holder keeps its cameras while it is within its
quota, so a joining worker takes only its share and a leaving one's cameras are spread.

>>> members = [Member("cpu-1", 1.0), Member("gpu-1", 3.0)]
>>> quotas(8, members)
{'cpu-1': 2, 'gpu-1': 6}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Member:
    """A live worker and the share of cameras it declares (a GPU worker declares more)."""

    name: str
    capacity: float


@dataclass(frozen=True, slots=True)
class Moves:
    """What one worker does now: leases to try to take, and cameras to let go of."""

    acquire: tuple[str, ...] = ()
    release: tuple[str, ...] = ()


def quotas(count: int, members: Sequence[Member]) -> dict[str, int]:
    """How many of ``count`` cameras each member should hold: proportional to capacity,
    the remainder to the largest fractions (ties to the name that sorts first)."""
    total = sum(m.capacity for m in members)
    if not members or total <= 0:
        return {}
    exact = {m.name: count * m.capacity / total for m in members}
    out = {name: math.floor(share) for name, share in exact.items()}
    left = count - sum(out.values())
    by_fraction = sorted(exact, key=lambda name: (out[name] - exact[name], name))
    for name in by_fraction[:left]:
        out[name] += 1
    return out


def plan(
    cameras: Iterable[str], members: Sequence[Member], holders: Mapping[str, str]
) -> dict[str, str]:
    """camera id -> the member that should hold it.

    ``holders``: camera id -> member name of its current lease. Holders keep their cameras up
    to their quota (in camera id order); the other cameras go, in id order, to the member
    with the most room left (ties to the name that sorts first).
    """
    ordered = sorted(set(cameras))
    room = quotas(len(ordered), members)
    out: dict[str, str] = {}
    for cam in ordered:
        holder = holders.get(cam)
        if holder is not None and room.get(holder, 0) > 0:
            out[cam] = holder
            room[holder] -= 1
    for cam in ordered:
        if cam in out or not room:
            continue
        name = min(room, key=lambda n: (-room[n], n))
        if room[name] <= 0:
            break
        out[cam] = name
        room[name] -= 1
    return out


def moves(me: str, planned: Mapping[str, str], held: Iterable[str], leased: Iterable[str]) -> Moves:
    """This worker's part of ``planned``.

    ``held``: the cameras whose lease this worker holds; ``leased``: every camera with a live
    lease, anyone's. It takes planned cameras that nobody holds (a held one is freed by its
    holder, or by its lease running out) and releases those planned for someone else.
    """
    taken = set(leased)
    mine = set(held)
    acquire = sorted(c for c, w in planned.items() if w == me and c not in taken)
    release = sorted(c for c in mine if planned.get(c) != me)
    return Moves(tuple(acquire), tuple(release))
