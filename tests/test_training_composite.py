"""Composited training pairs for the temporal model: plumes cut with a soft alpha, pasted
small, grown from the reference to the current tile; references kept as the detector keeps them."""

from __future__ import annotations

import numpy as np

from models.training import composite

SKY = (110, 150, 210)


def smoke_image() -> tuple[np.ndarray, tuple[float, float, float, float]]:
    image = np.full((120, 160, 3), SKY, np.uint8)
    image[50:90, 70:90] = (235, 235, 230)  # a white column inside the box
    return image, (50.0, 30.0, 110.0, 100.0)


def test_cut_plume_is_opaque_on_the_smoke_and_clear_at_the_border() -> None:
    image, box = smoke_image()
    plume = composite.cut_plume(image, box)
    assert plume is not None
    assert plume.rgb.shape[:2] == plume.alpha.shape == (70, 60)
    assert plume.alpha[40, 30] > 0.8  # on the column
    assert plume.alpha[2, 2] < 0.05 and plume.alpha[-3, -3] < 0.05  # the border is background


def test_paste_changes_only_where_the_plume_goes() -> None:
    image, box = smoke_image()
    plume = composite.cut_plume(image, box)
    assert plume is not None
    tile = np.full((224, 224, 3), (90, 90, 80), np.uint8)
    out = composite.paste(tile, plume, width=30, x=100, base=200, opacity=1.0)
    changed = np.argwhere(np.abs(out.astype(int) - tile).sum(axis=2) > 30)
    assert len(changed) > 50
    assert changed[:, 0].max() < 200 and changed[:, 1].min() >= 85 and changed[:, 1].max() < 115


def test_small_crops_get_softer_references_like_the_detector_keeps() -> None:
    rng = np.random.default_rng(0)
    tile = rng.integers(0, 255, (224, 224, 3), dtype=np.uint8)
    assert composite.soften(tile, composite.TILE_SIDES[0]) is tile  # a fixed tile: as is
    soft = composite.soften(tile, composite.TILE_SIDES[1])
    assert soft.shape == tile.shape and soft.std() < tile.std()


def test_pairs_have_both_tiles_and_labels() -> None:
    image, box = smoke_image()
    plume = composite.cut_plume(image, box)
    assert plume is not None
    view = np.full((480, 640, 3), SKY, np.uint8)
    pools = composite.Pools(
        views=[[view.copy() for _ in range(8)]],
        stills=[view],
        plumes=[plume],
        flames=[(image, ((60.0, 40.0, 100.0, 90.0),))],
    )
    rng = np.random.default_rng(1)
    labels = []
    for _ in range(60):
        cur, ref, label = composite.make_pair(pools, rng, 64)
        assert cur.shape == ref.shape == (64, 64, 3) and cur.dtype == np.uint8
        labels.append(label)
    stacked = np.array(labels)
    assert (stacked[:, 0] == 1).any() and (stacked[:, 0] == 0).any() and (stacked[:, 1] == 1).any()
    assert np.isnan(stacked[stacked[:, 1] == 1, 0]).all()  # flame photos: smoke unknown


def green_negatives(pools: composite.Pools, seed: int) -> int:
    """Negative pairs (of 200) whose current tile shows green, the colour of the test's cloud."""
    rng = np.random.default_rng(seed)
    count = 0
    for _ in range(200):
        cur, _, label = composite.make_pair(pools, rng, 64)
        green = cur[..., 1].astype(int) - cur[..., 0] > 100
        count += int(label[0] == 0 and green.any())
    return count


def test_pasted_clouds_are_negatives() -> None:
    image, box = smoke_image()
    plume = composite.cut_plume(image, box)
    assert plume is not None
    cloud = composite.Plume(np.full_like(plume.rgb, (0, 255, 0)), plume.alpha)
    view = np.full((480, 640, 3), (90, 90, 80), np.uint8)
    views = [[view.copy() for _ in range(8)]]
    assert green_negatives(composite.Pools(views, [view], [plume], []), 0) == 0
    with_clouds = composite.Pools(views, [view], [plume], [], clouds=[cloud])
    assert green_negatives(with_clouds, 0) > 10  # a cloud appeared, and it is no smoke
