"""Training for stable scores: degraded copies of tiles, the consistency term, and starting
from a shipped export's weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from models.training.robust import (
    DegradeSpec,
    adjust_light,
    degrade,
    h264_round_trip,
    jpeg_round_trip,
)


def _tile(size: int = 64) -> np.ndarray:
    """A smooth gradient with some texture: what an encoder keeps mostly, but not exactly."""
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:size, 0:size]
    base = np.stack([xx * 3, yy * 3, (xx + yy) * 1.5], axis=-1) + rng.normal(0, 12, (size, size, 3))
    return np.clip(base + 40, 0, 255).astype(np.uint8)


def test_degrade_changes_pixels_and_keeps_shape_and_type() -> None:
    tile = _tile()
    rng = np.random.default_rng(0)
    for _ in range(12):
        out = degrade(tile, rng)
        assert out.shape == tile.shape and out.dtype == np.uint8 and out.flags.c_contiguous
        assert np.abs(out.astype(int) - tile.astype(int)).mean() > 1.0


def test_degrade_is_reproducible_with_the_seed() -> None:
    tile = _tile()
    first = [degrade(tile, np.random.default_rng(11)) for _ in range(2)]
    assert np.array_equal(first[0], first[1])


def test_h264_round_trip_loses_more_at_a_higher_crf() -> None:
    tile = _tile(96)
    errors = [np.abs(h264_round_trip(tile, crf).astype(int) - tile).mean() for crf in (12, 35)]
    assert h264_round_trip(tile, 28).shape == tile.shape
    assert 0 < errors[0] < errors[1]


def test_jpeg_round_trip_keeps_colour_order() -> None:
    red = np.zeros((32, 32, 3), np.uint8)
    red[..., 0] = 220
    out = jpeg_round_trip(red, 90)
    assert out[..., 0].mean() > 200 and out[..., 2].mean() < 20


def test_adjust_light_gain_and_gamma() -> None:
    grey = np.full((4, 4, 3), 128, np.uint8)
    assert adjust_light(grey, 1.1, 1.0)[0, 0, 0] == 141
    assert adjust_light(grey, 1.0, 1.15)[0, 0, 0] < 128  # gamma above 1 darkens mid-tones
    assert adjust_light(np.full((2, 2, 3), 250, np.uint8), 1.15, 1.0).max() == 255


def test_degrade_with_only_h264_or_only_jpeg() -> None:
    tile = _tile()
    for p in (0.0, 1.0):
        spec = DegradeSpec(h264_p=p, gain=(1.0, 1.0), gamma=(1.0, 1.0), scale=(1.0, 1.0))
        out = degrade(tile, np.random.default_rng(1), spec)
        assert out.shape == tile.shape and not np.array_equal(out, tile)


torch = pytest.importorskip("torch")


def test_consistency_loss_is_zero_for_equal_scores_and_grows_as_they_part() -> None:
    from models.training.robust import consistency_loss

    a = torch.tensor([[2.0, -3.0], [0.5, 1.0]])
    assert consistency_loss(a, a.clone()).item() == pytest.approx(0.0, abs=1e-7)
    near = consistency_loss(a, a + 0.3).item()
    far = consistency_loss(a, a + 3.0).item()
    assert 0 < near < far
    assert consistency_loss(a, a + 1.0).item() == pytest.approx(
        consistency_loss(a + 1.0, a).item()
    )  # symmetric


def test_consistency_loss_pulls_the_scores_together() -> None:
    from models.training.robust import consistency_loss

    a = torch.tensor([[3.0, -1.0]], requires_grad=True)
    b = torch.tensor([[-1.0, 2.0]])
    consistency_loss(a, b).backward()
    assert a.grad is not None
    assert a.grad[0, 0] > 0 and a.grad[0, 1] < 0  # a descent step moves a towards b


def test_an_export_loaded_back_scores_as_the_export(tmp_path: Path) -> None:
    """Weights of a float export (batch norm folded in) put into a fresh network give the
    export's scores; the frozen layers keep their own weights."""
    pytest.importorskip("efficientnet_lite_pytorch")
    import onnxruntime as ort

    from models.training import net
    from models.training.from_onnx import load_export

    torch.manual_seed(0)
    source = net.build(64, 8)
    frozen = {id(m) for f in net.frozen_modules(source, 8) for m in f.modules()}
    for module in source.modules():  # trained batch norms that do something
        if isinstance(module, torch.nn.BatchNorm2d) and id(module) not in frozen:
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
            module.bias.data.uniform_(-0.1, 0.1)
    path = tmp_path / "model.onnx"
    net.export_onnx(source, 64, path)
    target = net.build(64, 8)
    set_layers = load_export(target, path, net.frozen_modules(target, 8))
    assert set_layers > 10
    x = np.random.default_rng(2).uniform(-1, 1, (3, 3, 64, 64)).astype(np.float32)
    target.eval()
    with torch.no_grad():
        mine = target(torch.from_numpy(x)).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    theirs = session.run(None, {"tiles": x})[0]
    fresh = net.build(64, 8).eval()
    with torch.no_grad():
        untouched = fresh(torch.from_numpy(x)).numpy()
    assert np.allclose(mine, theirs, atol=1e-4)
    assert not np.allclose(untouched, theirs, atol=1e-2)  # the load did something


def test_an_int8_export_loads_back_close_to_its_float_network(tmp_path: Path) -> None:
    """The int8 weights (DequantizeLinear of int8 initializers, a scale per output channel)
    are read back: the network scores like the float export it was quantised from."""
    pytest.importorskip("efficientnet_lite_pytorch")
    import onnxruntime as ort

    from models.training import net
    from models.training.from_onnx import load_export
    from models.training.quantize import KEEP_FLOAT, quantize_inputs

    torch.manual_seed(1)
    fp32, int8 = tmp_path / "fp32.onnx", tmp_path / "int8.onnx"
    net.export_onnx(net.build(64, 8), 64, fp32)
    rng = np.random.default_rng(3)
    batches = ({"tiles": rng.uniform(-1, 1, (4, 3, 64, 64)).astype(np.float32)} for _ in range(3))
    quantize_inputs(fp32, int8, batches, KEEP_FLOAT)
    assert any(n.op_type == "DequantizeLinear" for n in onnx.load(str(int8)).graph.node)
    target = net.build(64, 8)
    load_export(target, int8, net.frozen_modules(target, 8))
    x = rng.uniform(-1, 1, (3, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        mine = torch.sigmoid(target.eval()(torch.from_numpy(x))).numpy()
    session = ort.InferenceSession(str(fp32), providers=["CPUExecutionProvider"])
    theirs = 1 / (1 + np.exp(-session.run(None, {"tiles": x})[0]))
    assert np.abs(mine - theirs).max() < 0.02


def test_load_export_refuses_another_network(tmp_path: Path) -> None:
    pytest.importorskip("efficientnet_lite_pytorch")
    from models.training import net
    from models.training.from_onnx import ExportError, load_export

    path = tmp_path / "other.onnx"
    net.export_onnx(net.build(64, 8), 64, path)
    other_head = net.build(64, 8)
    other_head._fc = torch.nn.Linear(1280, 3)
    with pytest.raises(ExportError, match="_fc"):
        load_export(other_head, path, [])


def test_freeze_norms_keeps_batch_statistics_while_training() -> None:
    from models.training.from_onnx import freeze_norms

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4))
    model.train()
    freeze_norms(model)
    model(torch.randn(2, 3, 8, 8) * 5 + 3)
    norm = model[1]
    assert isinstance(norm, torch.nn.BatchNorm2d)
    assert torch.equal(norm.running_mean, torch.zeros(4)) and model[0].training


def test_training_cli_takes_robust_options(tmp_path: Path) -> None:
    pytest.importorskip("efficientnet_lite_pytorch")
    from models.training.train import parse_args

    export = tmp_path / "model.onnx"
    export.write_bytes(b"onnx")
    cfg = parse_args(["--from", str(export), "--robust", "--consistency", "0.5"])
    assert (cfg.init_from, cfg.robust, cfg.consistency) == (export, True, 0.5)
    assert not parse_args([]).robust and parse_args([]).init_from is None
    with pytest.raises(SystemExit):
        parse_args(["--from", str(tmp_path / "missing.onnx")])


def test_robust_batch_loss_learns_both_copies_and_their_agreement() -> None:
    pytest.importorskip("efficientnet_lite_pytorch")
    from detector.modelspec import InputSpec, ModelSpec
    from models.training.train import batch_loss, batch_tensor, masked_bce, parse_args

    spec = ModelSpec(
        name="tiny",
        kind="tiled_classifier",
        classes=("smoke", "flame"),
        input=InputSpec(size=(32, 32), layout="NCHW", mean=(0.5,) * 3, std=(0.5,) * 3),
    )
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 2))
    crops = [_tile(32) for _ in range(4)]
    y = torch.tensor([[1, 0], [0, 1], [0, -1], [0, 0]])
    plain = batch_loss(model, crops, y, parse_args([]), spec, np.random.default_rng(0))
    assert plain.item() == pytest.approx(masked_bce(model(batch_tensor(crops, spec)), y).item())
    losses = [
        batch_loss(model, crops, y, parse_args(["--robust", "--consistency", str(w)]), spec, rng)
        for w, rng in ((0.0, np.random.default_rng(4)), (50.0, np.random.default_rng(4)))
    ]
    assert losses[1].item() > losses[0].item() > 0  # same copies; the agreement term adds
    losses[1].backward()
