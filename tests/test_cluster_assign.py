"""Camera assignment: proportional to capacity, stable, and the same on every worker."""

from __future__ import annotations

import pytest

from cluster.assign import Member, Moves, moves, plan, quotas

CAMS = [f"cam-{i:02d}" for i in range(12)]
THREE = [Member("a", 1.0), Member("b", 1.0), Member("c", 1.0)]


@pytest.mark.parametrize(
    ("count", "members", "expected"),
    [
        (12, THREE, {"a": 4, "b": 4, "c": 4}),
        (10, THREE, {"a": 4, "b": 3, "c": 3}),
        (8, [Member("cpu", 1.0), Member("gpu", 3.0)], {"cpu": 2, "gpu": 6}),
        (5, [Member("cpu", 1.0), Member("gpu", 4.0)], {"cpu": 1, "gpu": 4}),
        (0, THREE, {"a": 0, "b": 0, "c": 0}),
        (3, [], {}),
    ],
)
def test_quotas_follow_capacity(
    count: int, members: list[Member], expected: dict[str, int]
) -> None:
    assert quotas(count, members) == expected
    assert sum(expected.values()) == (count if members else 0)


def _count(planned: dict[str, str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for worker in planned.values():
        out[worker] = out.get(worker, 0) + 1
    return out


def test_a_gpu_worker_takes_more_cameras() -> None:
    planned = plan(CAMS, [Member("cpu", 1.0), Member("gpu", 2.0)], {})
    assert _count(planned) == {"cpu": 4, "gpu": 8}


def test_a_joining_worker_takes_only_its_share() -> None:
    before = plan(CAMS, THREE[:2], {})
    after = plan(CAMS, THREE, before)
    moved = {cam for cam in CAMS if before[cam] != after[cam]}
    assert _count(after) == {"a": 4, "b": 4, "c": 4}
    assert len(moved) == 4 and all(after[cam] == "c" for cam in moved)


def test_a_leaving_workers_cameras_are_spread_and_the_rest_stay() -> None:
    before = plan(CAMS, THREE, {})
    after = plan(CAMS, THREE[:2], before)
    assert set(after) == set(CAMS)
    assert all(after[cam] == before[cam] for cam in CAMS if before[cam] != "c")
    assert _count(after) == {"a": 6, "b": 6}


def test_every_worker_computes_the_same_plan_whatever_the_order() -> None:
    holders = {"cam-00": "b", "cam-05": "c"}
    assert plan(CAMS, THREE, holders) == plan(reversed(CAMS), THREE[::-1], holders)


def test_no_worker_no_plan() -> None:
    assert plan(CAMS, [], {"cam-00": "a"}) == {}


def test_moves_take_free_cameras_and_release_foreign_ones() -> None:
    planned = {"cam-00": "a", "cam-01": "a", "cam-02": "b"}
    got = moves("a", planned, held={"cam-00", "cam-02"}, leased={"cam-00", "cam-02"})
    assert got == Moves(acquire=("cam-01",), release=("cam-02",))
    # a camera planned for "a" but still leased by someone else waits for the release
    assert moves("a", planned, held=set(), leased={"cam-01"}).acquire == ("cam-00",)
    # a camera no longer configured is let go of
    assert moves("a", {}, held={"cam-09"}, leased={"cam-09"}).release == ("cam-09",)
