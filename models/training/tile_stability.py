"""How far one tile's score moves between a clip and its perturbed copies (the network's own
stability, under the events that ``--perturb`` counts).

    .venv/bin/python -m models.training.tile_stability models/ember-tiles-v3 models/ember-tiles-v4

Every FIgLib time-lapse of ``clips/dev`` is re-encoded as each copy of
:data:`benchmarks.perturb.PERTURBATIONS` (x264 crf 28; gain +-10 % at crf 12), both are decoded
frame by frame, cut into the model's fixed tiles and scored, and the smoke scores of the same
tile in the same frame are compared: the largest change, the 99th percentile and the mean, and
how many tiles lie on the two sides of the model's smoke threshold. Focus crops are left out
(they follow the change of the view, so the same crop is not cut in both).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import av
import numpy as np

from benchmarks.clips import read_clips_csv
from benchmarks.perturb import PERTURBATIONS, Perturbation, write_copy
from detector.model import OnnxModel
from detector.preprocess import crops_for, to_tensor
from models.training.evaluate import default_data_dir

Json = dict[str, Any]
RUNS = Path(__file__).resolve().parent / "runs"


def frames(path: Path) -> Iterator[np.ndarray]:
    """The frames of the video ``path`` as RGB arrays, in order."""
    with av.open(str(path)) as reader:
        for frame in reader.decode(video=0):
            yield frame.to_ndarray(format="rgb24")


def smoke_scores(model: OnnxModel, path: Path) -> np.ndarray:
    """Frames x tiles smoke scores of the clip ``path`` (fixed tiles only)."""
    index = model.classes.index("smoke")
    rows = []
    for image in frames(path):
        crops, _ = crops_for(
            image[: image.shape[0] // 2 * 2, : image.shape[1] // 2 * 2], model.spec
        )
        logits = model.session.run(None, {model.input_name: to_tensor(crops, model.spec.input)})[0]
        rows.append(1.0 / (1.0 + np.exp(-logits[:, index])))
    return np.asarray(rows, dtype=np.float32)


def compare(base: np.ndarray, copy: np.ndarray, threshold: float) -> Json:
    """Changes of the same tiles' scores between ``base`` and ``copy`` (frames x tiles, or
    flattened; frames beyond the shorter of the two are left out)."""
    frames_ = min(len(base), len(copy))
    a, b = base[:frames_], copy[:frames_]
    delta = np.abs(a - b)
    return {
        "tiles": int(delta.size),
        "max": round(float(delta.max()), 3),
        "p99": round(float(np.percentile(delta, 99)), 3),
        "mean": round(float(delta.mean()), 4),
        "crossed": int(np.sum((a >= threshold) != (b >= threshold))),
    }


def report(model_dirs: Sequence[Path], data: Path, copies: Path) -> Json:
    """Per model, per copy: the tile-score changes over the FIgLib dev clips together."""
    clips = [r for r in read_clips_csv(data / "clips/dev/clips.csv").rows if "figlib" in r.file]
    paths = {p.name: [_copy(r.path, copies, p) for r in clips] for p in PERTURBATIONS}
    out: Json = {"clips": [r.file for r in clips], "models": {}}
    for model_dir in model_dirs:
        model = OnnxModel(model_dir, intra_op_threads=1)
        threshold = model.thresholds()["smoke"]
        base = [smoke_scores(model, r.path) for r in clips]
        rows = {}
        for name, copy_paths in paths.items():
            pairs = [(b, smoke_scores(model, c)) for b, c in zip(base, copy_paths, strict=True)]
            frames_ = [min(len(b), len(c)) for b, c in pairs]
            rows[name] = compare(
                np.concatenate([b[:n].ravel() for (b, _), n in zip(pairs, frames_, strict=True)]),
                np.concatenate([c[:n].ravel() for (_, c), n in zip(pairs, frames_, strict=True)]),
                threshold,
            )
        out["models"][model.spec.name] = {"threshold": threshold, "copies": rows}
    return out


def _copy(src: Path, folder: Path, perturbation: Perturbation) -> Path:
    dst = folder / perturbation.name.replace("%", "pct") / src.name
    return dst if dst.is_file() else write_copy(src, dst, perturbation)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dirs", type=Path, nargs="+")
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--out", type=Path, default=RUNS / "tile-stability")
    args = parser.parse_args(argv)
    result = report(args.model_dirs, args.data, args.out / "copies")
    (args.out / "tile_stability.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
