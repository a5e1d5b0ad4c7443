"""Training sources: hand-boxed early-plume frames of the training fires, hand-marked smoke in
the flame photos."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.training.sources import (
    EARLY_SMOKE_LABELS,
    FLAME_PHOTO_SMOKE_LABELS,
    HELD_OUT_FIRES,
    cell_boxes,
    early_smoke_boxes,
    figlib,
    flame_photos,
    grid_smoke_cells,
)
from models.training.tiles import IGNORE, tile_label

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def test_boxes_move_linearly_between_key_frames(tmp_path: Path) -> None:
    csv = tmp_path / "keys.csv"
    csv.write_text(
        "fire_id,offset_min,x0,y0,x1,y1\n"
        "fire-b,4,0,0,10,10\n"  # out of order on purpose
        "fire-b,2,0,0,6,6\n"
        "fire-a,0,100,50,120,70\n"
    )
    boxes = early_smoke_boxes(csv)
    assert boxes[("fire-b", 2)] == (0.0, 0.0, 6.0, 6.0)
    assert boxes[("fire-b", 3)] == (0.0, 0.0, 8.0, 8.0)
    assert boxes[("fire-b", 4)] == (0.0, 0.0, 10.0, 10.0)
    assert boxes[("fire-a", 0)] == (100.0, 50.0, 120.0, 70.0)
    # Nothing before the first key frame or after the last one.
    assert ("fire-b", 1) not in boxes and ("fire-b", 5) not in boxes
    assert ("fire-a", 1) not in boxes


def test_shipped_labels_are_sane_and_never_touch_a_held_out_fire() -> None:
    boxes = early_smoke_boxes(EARLY_SMOKE_LABELS)
    assert boxes, "no early-plume labels"
    for (fire, minute), (x0, y0, x1, y1) in boxes.items():
        assert fire not in HELD_OUT_FIRES
        assert 0 <= minute <= 40
        assert 0 <= x0 < x1 <= 1536 and 0 <= y0 < y1 <= 1152


@pytest.mark.skipif(not DATA.is_dir(), reason="the shared data pack is not here")
def test_boxed_frames_join_the_smoke_pool_and_the_rest_stay_out() -> None:
    assert not [i for i in figlib(DATA) if i.kind == "smoke"], "early plumes are opt-in"
    items = figlib(DATA, early_plumes=EARLY_SMOKE_LABELS)
    boxed = [i for i in items if i.kind == "smoke"]
    assert len(boxed) == len(early_smoke_boxes())
    assert all(i.split == "train" and i.offset_s is not None for i in boxed)
    assert all(i.offset_s >= 0 and len(i.smoke_boxes) == 1 for i in boxed if i.offset_s is not None)
    # Unboxed post-ignition frames of the training fires are not used; held-out fires keep
    # every frame for evaluation, with no box.
    held_out = [i for i in items if i.group.removeprefix("figlib-") in HELD_OUT_FIRES]
    assert held_out and all(i.split == "val" and not i.smoke_boxes for i in held_out)
    train_post = [i for i in items if i.split == "train" and (i.offset_s or 0) >= 0]
    assert {i.kind for i in train_post} == {"smoke"}
    # Evaluation reads every frame, unboxed.
    every = figlib(DATA, every_frame=True, early_plumes=EARLY_SMOKE_LABELS)
    assert len(every) > len(items) and not any(i.smoke_boxes for i in every)


def test_grid_cells_become_pixel_boxes_and_unsure_photos_stay_unknown(tmp_path: Path) -> None:
    csv = tmp_path / "cells.csv"
    csv.write_text("photo,cells\na.jpg,A1 D4\nb.jpg,\nc.jpg,?\n")
    cells = grid_smoke_cells(csv)
    assert cells == {"a.jpg": ("A1", "D4"), "b.jpg": ()}
    boxes = cell_boxes(cells["a.jpg"], height=400, width=800)
    assert boxes == ((0.0, 0.0, 200.0, 100.0), (600.0, 300.0, 800.0, 400.0))
    # Marked cells are smoke; the rest of a photo with marked cells stays unknown, as does a
    # tile that holds little of a cell.
    assert tile_label((0, 0, 200, 200), boxes, known=True, partial=True) == 1
    assert tile_label((250, 0, 450, 200), boxes, known=True, partial=True) == IGNORE
    assert tile_label((150, 50, 350, 250), boxes, known=True) == IGNORE


def test_a_cell_outside_the_grid_names_the_photo(tmp_path: Path) -> None:
    csv = tmp_path / "cells.csv"
    csv.write_text("photo,cells\nflame/x.jpg,A1 E5\n")
    with pytest.raises(ValueError, match=r"flame/x.jpg: cells \['E5'\]"):
        grid_smoke_cells(csv)


@pytest.mark.skipif(not DATA.is_dir(), reason="the shared data pack is not here")
def test_flame_photo_smoke_is_unknown_unless_marked() -> None:
    plain = flame_photos(DATA)
    assert not any(i.smoke_known or i.smoke_boxes for i in plain)
    marked = grid_smoke_cells(FLAME_PHOTO_SMOKE_LABELS)
    paths = {i.path.relative_to(DATA).as_posix() for i in plain}
    assert set(marked) <= paths, "labels name photos the recipe does not use"
    items = flame_photos(DATA, FLAME_PHOTO_SMOKE_LABELS)
    assert [i.path for i in items] == [i.path for i in plain]
    for item in items:
        cells = marked.get(item.path.relative_to(DATA).as_posix())
        assert item.smoke_known == (cells is not None)
        assert len(item.smoke_boxes) == len(cells or ())
        # Unmarked parts of a photo with smoke stay unknown; a photo without smoke has none.
        assert item.smoke_partial == bool(cells) and not item.partial
