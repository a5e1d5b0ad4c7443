"""Average float ONNX exports of one network, weight by weight (a uniform "model soup").

Runs of this recipe start from the same ImageNet weights and keep the same layers frozen, so
their float exports (``runs/<name>/model-fp32.onnx``) have the same graph and differ only in the
values of the trained tensors. Averaging them gives one network of the same cost that often
keeps some of what each run learnt. The result goes through the rest of the recipe like any
float export::

    python -m models.training.soup runs/a/model-fp32.onnx runs/b/model-fp32.onnx --out soup.onnx
    python -m models.training.train --float-from soup.onnx --name ... --out ...

Tried for the shipped model (the v3 and v5 networks): see the card's *What was tried*.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import numpy_helper


class SoupError(ValueError):
    """The exports are not the same network."""


def _same_graph(first: onnx.ModelProto, other: onnx.ModelProto, name: Path) -> None:
    mine, theirs = first.graph.initializer, other.graph.initializer
    if len(mine) != len(theirs):
        raise SoupError(f"{name}: {len(theirs)} weight tensors, the first export has {len(mine)}")
    for a, b in zip(mine, theirs, strict=True):
        if a.name != b.name or list(a.dims) != list(b.dims) or a.data_type != b.data_type:
            theirs_text, mine_text = f"{b.name} {list(b.dims)}", f"{a.name} {list(a.dims)}"
            raise SoupError(f"{name}: weight {theirs_text} is not {mine_text}")


def average(paths: Sequence[Path], out: Path) -> Path:
    """Write the mean of the float exports ``paths`` (integer tensors kept from the first)."""
    if len(paths) < 2:
        raise SoupError("give at least two exports to average")
    models = [onnx.load(str(p)) for p in paths]
    for path, model in zip(paths[1:], models[1:], strict=True):
        _same_graph(models[0], model, path)
    soup = models[0]
    for i, tensor in enumerate(soup.graph.initializer):
        arrays = [numpy_helper.to_array(m.graph.initializer[i]) for m in models]
        if arrays[0].dtype.kind == "f":
            mean = np.mean(arrays, axis=0).astype(arrays[0].dtype)
            tensor.CopyFrom(numpy_helper.from_array(mean, tensor.name))
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(soup, str(out))
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("exports", nargs="+", type=Path, help="float ONNX exports of one network")
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args(argv)
    try:
        print(average(a.exports, a.out))
    except (SoupError, OSError, DecodeError) as exc:
        raise SystemExit(f"soup: {exc}") from exc


if __name__ == "__main__":
    main()
