"""A temporal tile network: EfficientNet-Lite0 on the current tile, plus a change branch.

The input is the tile and the same tile ``reference_s`` earlier, stacked as six channels (RGB of
the current tile, then RGB of the reference; ``temporal.mode: stack6`` in model.yaml). The
current tile runs through the ImageNet backbone as in the single-frame model. A small branch of
four stride-2 convolutions reads the current tile and its difference from the reference and is
added to the backbone's features where they are 1/16 of the input (before MBConv block
``FUSE_AT``, 80 channels). Its last convolution starts at zero, so training starts from the
single-frame network and learns what change adds; the frozen early blocks need no gradient.
The branch costs about an eighth of the backbone.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from models.training import net

#: MBConv block before which the change branch is added (its input is 80 x 14 x 14 at 224 px).
FUSE_AT = 8
CHANNELS = (16, 32, 64, 80)


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True),
    )


class ChangeNet(nn.Module):
    """``forward(x)``: ``x`` is N x 6 x S x S (current, reference); returns N x 2 logits."""

    def __init__(self, size: int, frozen_blocks: int) -> None:
        super().__init__()
        self.base = net.build(size, min(frozen_blocks, FUSE_AT))
        self.frozen_blocks = min(frozen_blocks, FUSE_AT)
        c = CHANNELS
        last = nn.Conv2d(c[2], c[3], 3, stride=2, padding=1)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.change = nn.Sequential(_conv(6, c[0]), _conv(c[0], c[1]), _conv(c[1], c[2]), last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = self.base
        cur, ref = x[:, :3], x[:, 3:]
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.frozen_blocks < FUSE_AT):
            h = base._swish(base._bn0(base._conv_stem(cur)))
            for block in list(base._blocks)[:FUSE_AT]:
                h = block(h)
        h = h + self.change(torch.cat([cur, cur - ref], dim=1))
        for idx, block in enumerate(base._blocks):
            if idx < FUSE_AT:
                continue
            rate = base._global_params.drop_connect_rate
            h = block(h, drop_connect_rate=rate * idx / len(base._blocks) if rate else None)
        h = base._swish(base._bn1(base._conv_head(h)))
        h = base._avg_pooling(h).flatten(1)
        return base._fc(base._dropout(h))

    def train_mode(self) -> None:
        self.train()
        net.train_mode(self.base, self.frozen_blocks)


def export_onnx(model: ChangeNet, size: int, path: Path) -> None:
    """One ONNX file, opset 17, dynamic batch; input ``tiles`` N x 6 x S x S, logits N x 2."""
    model.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model,
        (torch.zeros(1, 6, size, size),),
        str(path),
        dynamo=False,
        opset_version=17,
        input_names=["tiles"],
        output_names=["logits"],
        dynamic_axes={"tiles": {0: "batch"}, "logits": {0: "batch"}},
    )
