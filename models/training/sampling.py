"""What each training batch is made of: pools, hard-negative mining and zoom-out mosaics.

- Pools: smoke-positive (distant plumes of the smoke sets), close smoke (marked in flame
  photos, only with ``--flame-smoke``), flame-positive, hard negatives (box-free tiles of fire
  images and FIgLib pre-ignition frames), easy negatives (clouds, sky, webcams) and **mined**
  negatives: the smoke-negative training tiles the model being trained scores highest (clouds
  over hills, haze, the sky-ridge edge), re-ranked every few epochs.
- Zoom-out mosaics: ``k x k`` tiles shrunk into one tile (k = 2 or 3), so a plume of 60-180
  px at the input becomes 20-90 px (10-60 px from 1-row tiles): real distant smoke is that small.
  Negatives get the same treatment at the same rate, so the seams between cells carry no label.
"""

from __future__ import annotations

import cv2
import numpy as np

from models.training.tiles import TileSet

#: Share of each epoch drawn from each pool without mining (``--no-mine``).
POOL_SHARES = {"smoke_pos": 0.30, "flame_pos": 0.20, "hard_neg": 0.30, "easy_neg": 0.20}
#: Shares with hard-negative mining (the default).
MINED_POOL_SHARES = {
    "smoke_pos": 0.30,
    "flame_pos": 0.15,
    "hard_neg": 0.20,
    "mined_neg": 0.20,
    "easy_neg": 0.15,
}
#: Share of close smoke when the flame photos' smoke is marked; the negative pools give it up,
#: so the distant plumes keep their share.
CLOSE_SMOKE_SHARE = 0.08
NEGATIVE_POOLS = ("hard_neg", "mined_neg", "easy_neg")
#: Mosaic grid sizes (``--mosaic-p`` is the chance that a drawn tile becomes one cell).
MOSAIC_GRIDS = (2, 2, 3)
#: Mined pool size: the top-scoring smoke-negative training tiles.
MINED = 800


def sampling_pools(ts: TileSet) -> dict[str, np.ndarray]:
    """Tile indices per pool; ``mined_neg`` starts as the hard negatives (nothing mined yet)
    and ``filler`` (negative for both classes, for mosaic cells) is not drawn directly."""
    train = ts.split == "train"
    pos_s, pos_f = ts.labels[:, 0] == 1, ts.labels[:, 1] == 1
    neg = ~pos_s & ~pos_f
    hard = np.nonzero(train & neg & (ts.pool != "negative"))[0]
    close = ts.pool == "flame"
    return {
        "smoke_pos": np.nonzero(train & pos_s & ~close)[0],
        "close_smoke": np.nonzero(train & pos_s & close)[0],
        "flame_pos": np.nonzero(train & pos_f)[0],
        "hard_neg": hard,
        "mined_neg": hard,
        "easy_neg": np.nonzero(train & neg & (ts.pool == "negative"))[0],
        "filler": np.nonzero(train & (ts.labels[:, 0] == 0) & (ts.labels[:, 1] == 0))[0],
        "smoke_neg": np.nonzero(train & (ts.labels[:, 0] == 0))[0],
    }


def mine(pools: dict[str, np.ndarray], smoke_scores: np.ndarray) -> dict[str, np.ndarray]:
    """New pools whose ``mined_neg`` holds the ``MINED`` smoke negatives with the highest
    smoke score (``smoke_scores`` aligned with ``pools["smoke_neg"]``)."""
    top = np.argsort(-smoke_scores, kind="stable")[:MINED]
    return {**pools, "mined_neg": np.sort(pools["smoke_neg"][top])}


def draw_epoch(
    pools: dict[str, np.ndarray], size: int, rng: np.random.Generator, mined: bool = False
) -> np.ndarray:
    shares = pool_shares(mined, close_smoke=len(pools["close_smoke"]) > 0)
    picks = [rng.choice(pools[k], size=int(size * share)) for k, share in shares.items()]
    order = np.concatenate(picks)
    rng.shuffle(order)
    return order


def pool_shares(mined: bool, close_smoke: bool) -> dict[str, float]:
    """Share of an epoch per pool: :data:`MINED_POOL_SHARES` or :data:`POOL_SHARES`, and with
    ``close_smoke`` :data:`CLOSE_SMOKE_SHARE` of close smoke taken from the negatives."""
    shares = dict(MINED_POOL_SHARES if mined else POOL_SHARES)
    if close_smoke:
        negative = sum(shares.get(k, 0.0) for k in NEGATIVE_POOLS)
        scale = (negative - CLOSE_SMOKE_SHARE) / negative
        shares = {k: v * scale if k in NEGATIVE_POOLS else v for k, v in shares.items()}
        shares["close_smoke"] = CLOSE_SMOKE_SHARE
    return shares


def combine_labels(labels: np.ndarray) -> np.ndarray:
    """Labels (2,) of a mosaic from its cells' labels (cells x 2): 1 if any cell is positive,
    else -1 if any is unknown, else 0."""
    out = np.where((labels == 1).any(axis=0), 1, np.where((labels < 0).any(axis=0), -1, 0))
    return out.astype(np.int64)


def mosaic(cells: list[np.ndarray], k: int) -> np.ndarray:
    """``k*k`` square uint8 tiles (S x S x 3) shrunk into one S x S tile, row-major."""
    size = cells[0].shape[0]
    edges = np.linspace(0, size, k + 1).round().astype(int)
    out = np.empty_like(np.asarray(cells[0]))
    for n, cell in enumerate(cells):
        r, c = divmod(n, k)
        h, w = edges[r + 1] - edges[r], edges[c + 1] - edges[c]
        small = cv2.resize(np.asarray(cell), (int(w), int(h)), interpolation=cv2.INTER_AREA)
        out[edges[r] : edges[r + 1], edges[c] : edges[c + 1]] = small
    return out


def sample(
    ts: TileSet,
    i: int,
    pools: dict[str, np.ndarray],
    rng: np.random.Generator,
    mosaic_p: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The training crop and labels (2,) for drawn tile ``i``: the tile itself, or (with
    chance ``mosaic_p``) a zoom-out mosaic with the tile in a random cell and negative
    fillers. With ``mosaic_p`` 0 no random number is drawn: ``--size 192 --mosaic-p 0
    --no-mine --no-look-alikes --ema-decay 0`` replays the ember-tiles-v1 recipe."""
    if mosaic_p <= 0 or rng.random() >= mosaic_p:
        return np.asarray(ts.crops[i]), ts.labels[i].astype(np.int64)
    k = int(rng.choice(MOSAIC_GRIDS))
    idx = list(rng.choice(pools["filler"], size=k * k - 1))
    idx.insert(int(rng.integers(0, k * k)), i)
    cells = [np.asarray(ts.crops[j])[:, :: (1 if rng.random() < 0.5 else -1)] for j in idx]
    return mosaic(cells, k), combine_labels(ts.labels[idx])
