"""Render failure cases of a model directory as pictures with per-tile scores drawn on them.

Writes PNGs to ``models/training/runs/<model name>/failures/`` (ignored by git: the pictures are
derived from the data pack, whose licences do not allow redistributing it):

- the held-out FIgLib frames with the highest smoke score before ignition (false alarms),
- the held-out FIgLib frames after ignition with the lowest smoke score (misses),
- the validation negative images (clouds, sky, sunset webcam) with the highest score.

Run: ``python -m models.training.failures models/ember-tiles-v3 [--data DIR] [--top 4]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from detector.preprocess import crops_for
from detector.tiling import pixel_box
from models.training.evaluate import TileScorer, default_data_dir
from models.training.sources import HELD_OUT_FIRES, LabelledImage, figlib, negatives
from models.training.tiles import read_rgb

HERE = Path(__file__).resolve().parent


def draw(scorer: TileScorer, image: np.ndarray, title: str) -> np.ndarray:
    """BGR copy of ``image`` with each tile outlined and labelled 's0.12 f0.03'."""
    scores = scorer.scores(image)
    _, boxes = crops_for(image, scorer.spec)
    out = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    h, w = image.shape[:2]
    thr = (scorer.spec.threshold("smoke"), scorer.spec.threshold("flame"))
    for (s, f), box in zip(scores, boxes, strict=True):
        x0, y0, x1, y1 = pixel_box(box, w, h)
        hot = s >= thr[0] or f >= thr[1]
        colour = (0, 0, 255) if hot else (0, 200, 0)
        cv2.rectangle(out, (x0 + 2, y0 + 2), (x1 - 2, y1 - 2), colour, 2)
        cv2.putText(
            out,
            f"s{s:.2f} f{f:.2f}",
            (x0 + 8, y0 + 28),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.8 * h / 1080 + 0.3,
            colour,
            2,
        )
    cv2.putText(out, title, (8, h - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * h / 480, (255, 255, 0), 2)
    return out


def ranked(scorer: TileScorer, items: list[LabelledImage], cls: int) -> list[tuple[float, Path]]:
    scored = [(float(scorer.scores(read_rgb(i.path))[:, cls].max()), i.path) for i in items]
    return sorted(scored, reverse=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--top", type=int, default=4)
    args = parser.parse_args(argv)
    scorer = TileScorer(args.model_dir, threads=2)
    out_dir = HERE / "runs" / scorer.spec.name / "failures"
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = [f for f in figlib(args.data) if f.group.removeprefix("figlib-") in HELD_OUT_FIRES]
    pre = ranked(scorer, [f for f in frames if (f.offset_s or 0) < 0], 0)[: args.top]
    post = ranked(scorer, [f for f in frames if (f.offset_s or 0) >= 300], 0)[-args.top :]
    negs = [n for n in negatives(args.data) if n.split == "val"]
    neg = sorted(
        ranked(scorer, negs, 0)[: args.top] + ranked(scorer, negs, 1)[: args.top], reverse=True
    )
    for tag, rows in (("figlib_pre_fp", pre), ("figlib_post_miss", post), ("negative_fp", neg)):
        for rank, (score, path) in enumerate(rows):
            picture = draw(scorer, read_rgb(path), f"{path.name} max {score:.2f}")
            cv2.imwrite(str(out_dir / f"{tag}_{rank}_{path.stem}.png"), picture)
            print(f"{tag}: {path.name} max={score:.3f}")


if __name__ == "__main__":
    main()
