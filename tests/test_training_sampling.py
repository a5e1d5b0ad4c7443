"""Training batches: which pool each tile is drawn from and how much of an epoch each pool gets."""

from __future__ import annotations

import numpy as np
import pytest

from models.training.sampling import (
    CLOSE_SMOKE_SHARE,
    MINED_POOL_SHARES,
    POOL_SHARES,
    draw_epoch,
    pool_shares,
    sampling_pools,
)
from models.training.tiles import TileSet


def _tiles(rows: list[tuple[str, int, int]]) -> TileSet:
    """One tiny training tile per (pool, smoke label, flame label)."""
    n = len(rows)
    return TileSet(
        crops=np.zeros((n, 4, 4, 3), np.uint8),
        labels=np.array([(s, f) for _, s, f in rows], np.int8),
        pool=np.array([p for p, _, _ in rows]),
        split=np.array(["train"] * n),
        group=np.array([f"g{i}" for i in range(n)]),
        image=np.arange(n),
    )


def test_smoke_marked_in_flame_photos_is_its_own_pool() -> None:
    ts = _tiles([("smoke", 1, -1), ("flame", 1, 1), ("flame", 0, 1), ("negative", 0, 0)])
    pools = sampling_pools(ts)
    assert pools["smoke_pos"].tolist() == [0]
    assert pools["close_smoke"].tolist() == [1]
    assert pools["flame_pos"].tolist() == [1, 2]


@pytest.mark.parametrize("mined", [True, False])
def test_close_smoke_takes_its_share_from_the_negatives(mined: bool) -> None:
    plain = MINED_POOL_SHARES if mined else POOL_SHARES
    assert pool_shares(mined, close_smoke=False) == plain  # the recipe without it is unchanged
    shares = pool_shares(mined, close_smoke=True)
    assert shares["close_smoke"] == CLOSE_SMOKE_SHARE
    assert shares["smoke_pos"] == plain["smoke_pos"] and shares["flame_pos"] == plain["flame_pos"]
    assert sum(shares.values()) == pytest.approx(1.0)


def test_an_epoch_without_close_smoke_draws_no_such_tile() -> None:
    ts = _tiles([("smoke", 1, -1), ("flame", -1, 1), ("flame", 0, 0), ("negative", 0, 0)])
    pools = sampling_pools(ts)
    assert len(pools["close_smoke"]) == 0
    order = draw_epoch(pools, 100, np.random.default_rng(0))
    assert len(order) == 100 and set(order.tolist()) == {0, 1, 2, 3}
