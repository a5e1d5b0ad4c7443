"""Training for stable scores: the consistency term, and starting from a shipped export's
weights (the training extra: torch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

torch = pytest.importorskip("torch")


def _tile(size: int) -> np.ndarray:
    return np.random.default_rng(size).integers(0, 256, (size, size, 3), dtype=np.uint8)


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


def test_a_temporal_network_started_from_an_export_scores_as_it_on_an_unchanged_view(
    tmp_path: Path,
) -> None:
    """``train_temporal --from``: the single-frame part takes the export's weights, and the
    change branch (zero at its last layer) adds nothing until it learns; the branch learns at
    ``--lr``, the single-frame part at ``--lr x --backbone-lr``."""
    pytest.importorskip("efficientnet_lite_pytorch")
    import onnxruntime as ort

    from models.training import net, seqnet, train_temporal
    from models.training.from_onnx import load_export

    torch.manual_seed(0)
    path = tmp_path / "model.onnx"
    net.export_onnx(net.build(64, 8), 64, path)
    model = seqnet.ChangeNet(64, 8)
    load_export(model.base, path, net.frozen_modules(model.base, model.frozen_blocks))
    x = np.random.default_rng(3).uniform(-1, 1, (2, 3, 64, 64)).astype(np.float32)
    model.eval()
    with torch.no_grad():
        mine = model(torch.from_numpy(np.concatenate([x, x], axis=1))).numpy()
    theirs = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"tiles": x}
    )[0]
    assert np.allclose(mine, theirs, atol=1e-4)
    cfg = train_temporal.parse_args(["--from", str(path), "--lr", "0.002", "--backbone-lr", "0.1"])
    branch, base = train_temporal.param_groups(model, cfg)
    assert branch["base_lr"] == 0.002 and base["base_lr"] == pytest.approx(0.0002)
    assert len(branch["params"]) == len(list(model.change.parameters()))  # type: ignore[arg-type]
    with pytest.raises(SystemExit):
        train_temporal.parse_args(["--from", str(tmp_path / "missing.onnx")])
