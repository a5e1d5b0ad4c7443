"""Start training from a shipped network: the weights of an ONNX export put back into the
recipe's EfficientNet-Lite0.

The float export of a run is kept only in its (uncommitted) run folder; what a model directory
holds is ``model.onnx``, usually int8. Its weights are still all there: every convolution's
weight and bias (batch norm was folded into them at export), stored as int8 with a scale per
output channel where quantised (``DequantizeLinear`` of an initializer) and as float where not
(the stem, the last 1x1 convolution and the classifier). :func:`load_export` reads them back
and sets each convolution to its folded weight and the batch norm after it to the identity
plus the folded bias, so that the network in eval mode computes what the export computes, up to
the rounding of the int8 weights. Layers the recipe keeps frozen keep their ImageNet weights
(the export holds the same ones, rounded).

Batch-norm statistics of such a network are no longer the ones it was trained with, so
:func:`freeze_norms` keeps every batch norm in eval mode while fine-tuning: its scale and shift
still learn, its statistics stay.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

#: Batch norm that follows each convolution of EfficientNet-Lite0, by the convolution's name.
NORM_AFTER = {
    "_conv_stem": "_bn0",
    "_conv_head": "_bn1",
    "_expand_conv": "_bn0",
    "_depthwise_conv": "_bn1",
    "_project_conv": "_bn2",
}


class ExportError(ValueError):
    """The ONNX file is not an export of this network."""


def add_from_option(parser: argparse.ArgumentParser, what: str) -> None:
    """The recipes' ``--from ONNX`` (``init_from``): start ``what`` from an export's weights."""
    parser.add_argument(
        "--from",
        dest="init_from",
        type=_existing,
        default=None,
        metavar="ONNX",
        help=f"start {what} from the weights of this export (a model directory's model.onnx, "
        "int8 or float) instead of ImageNet; batch-norm statistics stay fixed (from_onnx.py)",
    )


def _existing(value: str) -> Path:
    path = Path(value)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{path}: no such file")
    return path


def _initializers(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """Every constant of ``graph`` by name, with dequantised outputs of ``DequantizeLinear``
    nodes over initializers added under their output names."""
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type != "DequantizeLinear" or node.input[0] not in values:
            continue
        q = values[node.input[0]].astype(np.float32)
        scale = values[node.input[1]].astype(np.float32)
        zero = values[node.input[2]].astype(np.float32) if len(node.input) > 2 else np.zeros(1)
        if scale.ndim == 1 and q.ndim > 1:  # per channel along ``axis``
            axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
            shape = [-1 if d == axis else 1 for d in range(q.ndim)]
            scale, zero = scale.reshape(shape), zero.reshape(shape)
        values[node.output[0]] = ((q - zero) * scale).astype(np.float32)
    return values


def export_weights(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(weight, bias) of every Conv and Gemm node of the export ``path``, by module path
    (``_blocks.9._project_conv``, ``_fc``)."""
    graph = onnx.load(str(path)).graph
    values = _initializers(graph)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for node in graph.node:
        if node.op_type not in ("Conv", "Gemm"):
            continue
        module = node.name.strip("/").rsplit("/", 1)[0].replace("/", ".")
        try:
            out[module] = (values[node.input[1]], values[node.input[2]])
        except (IndexError, KeyError) as exc:
            raise ExportError(f"{node.name}: weight or bias is not a constant") from exc
    return out


def _set(param: torch.Tensor, value: np.ndarray, name: str) -> None:
    if tuple(param.shape) != value.shape:
        raise ExportError(f"{name}: export has {value.shape}, the network {tuple(param.shape)}")
    with torch.no_grad():
        param.copy_(torch.from_numpy(np.array(value, dtype=np.float32)))


def _unfold_into(model: nn.Module, module: str, weight: np.ndarray, bias: np.ndarray) -> None:
    """Folded ``weight`` into the convolution ``module``; the norm after it becomes the identity
    plus ``bias``."""
    parent_name, _, conv_name = module.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    _set(getattr(parent, conv_name).weight, weight, module)
    norm = getattr(parent, NORM_AFTER.get(conv_name, ""), None)
    if not isinstance(norm, nn.BatchNorm2d):
        raise ExportError(f"{module}: no batch norm after this convolution in the network")
    with torch.no_grad():
        norm.weight.fill_(1.0)
        norm.running_mean.zero_()
        norm.running_var.fill_(1.0 - norm.eps)
    _set(norm.bias, bias, f"{module} bias")


def load_export(model: nn.Module, path: Path, frozen: list[nn.Module]) -> int:
    """Put the weights of the export ``path`` into ``model`` (modules in ``frozen`` and their
    children are left as they are); return how many layers were set."""
    kept = {id(m) for f in frozen for m in f.modules()}
    weights = export_weights(path)
    count = 0
    for module, (weight, bias) in weights.items():
        if id(model.get_submodule(module)) in kept:
            continue
        if module == "_fc":
            _set(model.get_submodule("_fc").weight, weight, "_fc")
            _set(model.get_submodule("_fc").bias, bias, "_fc bias")
        else:
            _unfold_into(model, module, weight, bias)
        count += 1
    if count == 0:
        raise ExportError(f"{path}: no layer of the network found in the export")
    return count


def freeze_norms(model: nn.Module) -> None:
    """Every batch norm of ``model`` to eval mode (statistics fixed, scale and shift learn)."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.eval()
