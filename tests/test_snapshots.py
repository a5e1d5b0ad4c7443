"""Snapshot rendering and atomic writing."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from detector.types import Region
from store.snapshots import SnapshotError, SnapshotWriter, atomic_write, render_snapshot
from tests.fixtures.app import SMOKE, T0, make_frame, make_image


def _decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG"
        return np.asarray(img.convert("RGB"))


def test_clean_render_is_the_frame() -> None:
    image = make_image(320, 240)
    decoded = _decode(render_snapshot(image, [SMOKE], annotate=False))
    assert decoded.shape == (240, 320, 3)
    # JPEG is lossy; the mean error of a clean copy stays small and colours keep their order.
    assert np.abs(decoded.astype(int) - image.astype(int)).mean() < 4


def test_annotated_render_draws_inside_the_box_outline_only() -> None:
    image = make_image(320, 240)
    before = image.copy()
    clean = _decode(render_snapshot(image, [SMOKE], annotate=False)).astype(int)
    drawn = _decode(render_snapshot(image, [SMOKE], annotate=True)).astype(int)
    assert np.array_equal(image, before), "the caller's frame is not modified"
    diff = np.abs(drawn - clean).sum(axis=2) > 60
    x0, y0, x1, y1 = (round(v * s) for v, s in zip(SMOKE.box, (319, 239, 319, 239), strict=True))
    assert diff[y0 + 10 : y1 - 10, x0].any() and diff[y0 + 10 : y1 - 10, x1].any()
    assert not diff[y0 + 10 : y1 - 10, x0 + 10 : x1 - 10].any(), "the box is not filled"
    assert not diff[:, : x0 - 5].any(), "nothing is drawn left of the box"


def test_the_event_region_is_drawn_amber_around_its_regions() -> None:
    image = make_image(320, 240)
    box = (0.10, 0.10, 0.90, 0.90)  # the event's region, wider than its one scored region
    clean = _decode(render_snapshot(image, [SMOKE], annotate=True)).astype(int)
    drawn = _decode(render_snapshot(image, [SMOKE], annotate=True, box=box)).astype(int)
    x0, y0, x1 = round(0.10 * 319), round(0.10 * 239), round(0.90 * 319)
    changed = np.abs(drawn - clean).sum(axis=2) > 60
    # Drawn just outside the box (a region with the same box must stay visible).
    assert changed[y0 - 4 : y0 + 1, x0 + 20 : x1 - 20].any(axis=0).all()
    assert changed[y0 + 20 : y0 + 40, x0 - 4 : x0 + 1].any(axis=1).all()
    assert not changed[y0 + 3 : y0 + 20, x0 + 3 : x1 - 3].any()
    r, g, b = drawn[y0 - 2, (x0 + x1) // 2]  # the decoded picture is RGB
    assert r > 200 and 130 < g < 220 and b < 100, "amber"
    unannotated = _decode(render_snapshot(image, [SMOKE], annotate=False, box=box)).astype(int)
    assert np.abs(unannotated - _decode(render_snapshot(image, [], annotate=False))).mean() < 1


def test_label_stays_inside_the_picture_for_a_box_at_the_top() -> None:
    region = Region("flame", 0.91, (0.0, 0.0, 0.5, 0.3))
    drawn = _decode(render_snapshot(make_image(), [region], annotate=True))
    assert drawn.shape == (240, 320, 3)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((10, 10), np.uint8),
        np.zeros((10, 10, 4), np.uint8),
        np.zeros((10, 10, 3), np.float32),
    ],
)
def test_render_rejects_wrong_arrays(bad: np.ndarray) -> None:
    with pytest.raises(SnapshotError, match="HxWx3 uint8"):
        render_snapshot(bad, [], annotate=False)


def test_atomic_write_replaces_and_leaves_no_temporaries(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "x.jpg"
    atomic_write(target, b"one")
    atomic_write(target, b"two")
    assert target.read_bytes() == b"two"
    assert os.listdir(target.parent) == ["x.jpg"]


def test_atomic_write_failure_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "dir" / "x.jpg"
    target.mkdir(parents=True)  # a directory where the file should go: os.replace fails
    with pytest.raises(OSError):
        atomic_write(target, b"data")
    assert os.listdir(target.parent) == ["x.jpg"] and target.is_dir()


def test_writer_layout_and_resolve(tmp_path: Path) -> None:
    writer = SnapshotWriter(tmp_path / "snaps")
    files = writer.write(make_frame("ridge", T0), "smoke", "opened", [SMOKE])
    assert files.path_annotated.startswith("ridge/2026-06-01/120000_smoke_opened_")
    assert files.path_clean == files.path_annotated.replace(".jpg", "_clean.jpg")
    assert (files.width, files.height) == (320, 240)
    for rel in (files.path_annotated, files.path_clean):
        assert writer.resolve(rel).is_file()
    with pytest.raises(SnapshotError, match="outside"):
        writer.resolve("../../etc/passwd")
    writer.remove(files)
    writer.remove(files)  # already gone: not an error
    assert not writer.resolve(files.path_clean).exists()


def test_writer_reports_the_file_on_failure(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    writer = SnapshotWriter(blocker)
    with pytest.raises(SnapshotError, match=r"cannot write .*blocker/ridge"):
        writer.write(make_frame("ridge", T0), "smoke", "peak", [])


def test_writer_rejects_an_impossible_frame_time(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="not a valid epoch time"):
        SnapshotWriter(tmp_path).write(make_frame("ridge", 1e300), "smoke", "opened", [])
