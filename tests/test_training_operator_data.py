"""Operators' verdicts feed the training recipe: a real export read back as training tiles."""

from __future__ import annotations

import random
import re
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli.main import app as cli
from detector.config import DEFAULT_MODEL
from detector.modelspec import load_spec
from models.training import tiles
from models.training.operator_data import OperatorDataError, operator_images
from models.training.sources import LabelledImage
from models.training.tiles import IGNORE, image_tiles, read_rgb
from service.config import AppConfig
from tests.fixtures.app import client_as

# tests.fixtures.app.SMOKE's box on the 320 x 240 snapshots, in pixels.
SMOKE_PX = (128.0, 48.0, 224.0, 132.0)


@pytest.fixture
def export_dir(
    client: TestClient, decided: dict[str, int], app_config: AppConfig, tmp_path: Path
) -> Path:
    """The CLI export after the open flame event is confirmed too."""
    ana = client_as(client, "ana")
    assert ana.post(f"/api/events/{decided['open']}/confirm", json={}).status_code == 200
    out = tmp_path / "export"
    env = {"EMBERWATCH_DATA_DIR": str(app_config.data_dir)}
    result = CliRunner().invoke(cli, ["export-dataset", str(out)], env=env)
    assert result.exit_code == 0, result.output
    return out


def _by_name(items: list[LabelledImage]) -> dict[str, LabelledImage]:
    return {item.path.name: item for item in items}


def test_export_becomes_labelled_images(
    export_dir: Path, decided: dict[str, int], tmp_path: Path
) -> None:
    items = _by_name(operator_images(export_dir, tmp_path / "cache"))
    smoke = items[f"ridge_{decided['confirmed']}_peak.jpg"]
    assert (smoke.kind, smoke.group, smoke.partial) == ("operator_smoke", "operator-ridge", True)
    assert smoke.smoke_boxes == (pytest.approx(SMOKE_PX),)
    assert not smoke.flame_known, "confirming smoke says nothing about flame"
    flame = items[f"ridge_{decided['open']}_opened.jpg"]
    assert (flame.kind, flame.smoke_known, flame.flame_known) == ("operator_flame", False, True)
    negative = items[f"valley_{decided['dismissed']}_opened.jpg"]
    assert negative.kind == "operator_negative" and negative.group == "operator-valley"
    assert (negative.smoke_boxes, negative.partial) == ((), False)
    assert negative.focus_boxes == (pytest.approx(SMOKE_PX),)
    assert len({items[n].split for n in items if n.startswith("ridge_")}) == 1, "split by camera"


def test_zip_export_reads_the_same(
    client: TestClient, export_dir: Path, decided: dict[str, int], tmp_path: Path
) -> None:
    archive = tmp_path / "dataset.zip"
    archive.write_bytes(client.get("/api/export/dataset.zip").content)
    from_dir = _by_name(operator_images(export_dir, tmp_path / "cache"))
    from_zip = _by_name(operator_images(archive, tmp_path / "cache"))
    assert from_zip.keys() == from_dir.keys()
    for name, item in from_zip.items():
        assert item.path.is_file() and tmp_path / "cache" in item.path.parents
        assert (item.kind, item.smoke_boxes, item.focus_boxes) == (
            from_dir[name].kind,
            from_dir[name].smoke_boxes,
            from_dir[name].focus_boxes,
        )


def test_tiles_learn_only_what_the_operator_said(
    export_dir: Path, decided: dict[str, int], tmp_path: Path
) -> None:
    spec = load_spec(DEFAULT_MODEL)
    items = _by_name(operator_images(export_dir, tmp_path / "cache"))
    smoke = items[f"ridge_{decided['confirmed']}_opened.jpg"]
    labels = [lab for _, lab, _ in image_tiles(smoke, read_rgb(smoke.path), spec, (2,))]
    assert sum(lab[0] == 1 for lab in labels) == 1, "the tile the detector saw smoke in"
    assert all(lab[0] in (1, IGNORE) for lab in labels), "the rest is not taught as negative"
    assert all(lab[1] == IGNORE for lab in labels)

    negative = items[f"valley_{decided['dismissed']}_opened.jpg"]
    cut = image_tiles(negative, read_rgb(negative.path), spec, (2,))
    assert all(lab == (0, 0) for _, lab, _ in cut)
    focus = [f for _, _, f in cut]
    assert 0 < sum(focus) < len(focus)
    for seed in range(10):
        kept = tiles._keep(cut, sum(focus), random.Random(seed))
        assert all(f for _, _, f in kept), "the tiles the detector wrongly flagged come first"


def test_build_tiles_adds_operator_pools(export_dir: Path, tmp_path: Path) -> None:
    items = operator_images(export_dir, tmp_path / "cache")
    built = tiles.build_tiles(items, load_spec(DEFAULT_MODEL), seed=1)
    assert set(built.pool) == {"operator_smoke", "operator_flame", "operator_negative"}
    assert (built.labels[:, 0] == 1).any() and (built.labels[:, 1] == 1).any()
    negatives = built.labels[built.pool == "operator_negative"]
    assert (negatives == 0).all()


def _write_export(root: Path, rows: str) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "images" / "a.jpg").write_bytes(b"\xff\xd8")
    (root / "labels.csv").write_text(rows)
    return root


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("file,label\nimages/a.jpg,smoke\n", "missing columns width, height, boxes, camera_id"),
        (
            "file,label,width,height,boxes,camera_id\nimages/a.jpg,fog,10,10,[],c\n",
            "line 2: unknown label 'fog'",
        ),
        (
            "file,label,width,height,boxes,camera_id\nimages/b.jpg,smoke,10,10,[],c\n",
            "line 2: missing image images/b.jpg",
        ),
        (
            "file,label,width,height,boxes,camera_id\nimages/a.jpg,smoke,10,10,[[0,1]],c\n",
            "line 2:",
        ),
    ],
)
def test_bad_export_names_what_is_wrong(tmp_path: Path, rows: str, message: str) -> None:
    root = _write_export(tmp_path / "set", rows)
    with pytest.raises(OperatorDataError, match=re.escape(message)):
        operator_images(root, tmp_path / "cache")


def test_not_an_export(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    with pytest.raises(OperatorDataError, match="not an export directory or zip"):
        operator_images(junk, tmp_path / "cache")
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("README.txt", "nothing")
    with pytest.raises(OperatorDataError, match=re.escape("no labels.csv")):
        operator_images(empty, tmp_path / "cache")
