"""The per-tile score change between a clip and its perturbed copy, on hand-made scores."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from benchmarks.perturb import Perturbation, write_copy
from models.training.tile_stability import compare, frames


def test_compare_reports_the_changes_of_the_same_tiles() -> None:
    base = np.array([[0.1, 0.6], [0.2, 0.9], [0.3, 0.3]], dtype=np.float32)
    copy = np.array([[0.1, 0.4], [0.9, 0.9], [0.3, 0.3]], dtype=np.float32)
    result = compare(base, copy, threshold=0.5)
    assert result["tiles"] == 6
    assert result["max"] == 0.7
    assert result["mean"] == round((0.2 + 0.7) / 6, 4)
    assert result["crossed"] == 2  # 0.6 -> 0.4 and 0.2 -> 0.9 change sides of 0.5


def test_compare_uses_the_frames_both_have() -> None:
    result = compare(np.zeros((3, 2)), np.ones((2, 2)), threshold=0.5)
    assert result["tiles"] == 4 and result["crossed"] == 4


def test_frames_of_a_copy_line_up_with_the_original(tmp_path: Path) -> None:
    src = tmp_path / "clip.mp4"
    with av.open(str(src), "w") as writer:
        stream = writer.add_stream("libx264", rate=4)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(5):
            image = np.full((48, 64, 3), 40 * i, dtype=np.uint8)
            writer.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        writer.mux(stream.encode(None))
    copy = write_copy(src, tmp_path / "copy.mp4", Perturbation("gain-10%", 12, 0.9))
    original, darker = list(frames(src)), list(frames(copy))
    assert len(original) == len(darker) == 5
    assert darker[4].mean() < original[4].mean()
