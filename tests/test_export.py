"""History CSV and the labelled dataset (zip over HTTP, directory from the CLI)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from cli.main import app as cli
from detector.types import Transition
from service.config import AppConfig
from store.dataset import COLUMNS
from tests.fixtures.app import T0, make_frame, make_update, push_update


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_events_csv(client: TestClient, decided: dict[str, int]) -> None:
    response = client.get("/api/export/events.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="emberwatch-events-' in response.headers["content-disposition"]
    rows = _csv(response.text)
    assert [int(r["id"]) for r in rows] == [
        decided["open"],
        decided["dismissed"],
        decided["confirmed"],
    ]
    dismissed = rows[1]
    assert (dismissed["camera_id"], dismissed["class"], dismissed["status"]) == (
        "valley",
        "smoke",
        "dismissed",
    )
    assert dismissed["operator"] == "ana" and dismissed["note"] == 'road dust, "again"'
    assert dismissed["started_at"] == "2026-06-01T12:01:00Z"
    assert float(dismissed["decision_s"]) >= 0
    assert rows[0]["operator"] == "" and rows[0]["decided_at"] == ""
    assert rows[2]["snapshot_url"] == f"/api/events/{decided['confirmed']}/snapshot.jpg?kind=peak"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("camera=ridge", ["open", "confirmed"]),
        ("status=dismissed", ["dismissed"]),
        ("cls=flame", ["open"]),
        ("since=2026-06-01T12:00:30Z&until=2026-06-01T12:01:30Z", ["dismissed"]),
        ("camera=nowhere", []),
    ],
)
def test_events_csv_filters(
    client: TestClient, decided: dict[str, int], query: str, expected: list[str]
) -> None:
    rows = _csv(client.get(f"/api/export/events.csv?{query}").text)
    assert [int(r["id"]) for r in rows] == [decided[k] for k in expected]


def test_events_csv_pages_through_many_events(client: TestClient) -> None:
    for i in range(520):  # more than one page of the export
        push_update(client, make_update(f"cam{i}", Transition.OPENED, T0 + i, frame=None))
    rows = _csv(client.get("/api/export/events.csv").text)
    assert len(rows) == 520 and len({r["id"] for r in rows}) == 520


def test_export_roles(viewer_client: TestClient, anon_client: TestClient) -> None:
    assert anon_client.get("/api/export/events.csv").status_code == 401
    assert viewer_client.get("/api/export/events.csv").status_code == 200
    response = viewer_client.get("/api/export/dataset.zip")
    assert response.status_code == 403 and "admin" in response.json()["detail"]


def _check_dataset(files: dict[str, bytes], decided: dict[str, int]) -> None:
    rows = _csv(files["labels.csv"].decode())
    assert list(rows[0]) == list(COLUMNS)
    by_file = {r["file"]: r for r in rows}
    confirmed, dismissed = decided["confirmed"], decided["dismissed"]
    assert set(by_file) == {
        f"images/ridge_{confirmed}_opened.jpg",
        f"images/ridge_{confirmed}_peak.jpg",
        f"images/valley_{dismissed}_opened.jpg",
    }, "decided events only; the open one is not labelled yet"
    peak = by_file[f"images/ridge_{confirmed}_peak.jpg"]
    assert (peak["label"], peak["width"], peak["height"], peak["operator"]) == (
        "smoke",
        "320",
        "240",
        "ana",
    )
    assert json.loads(peak["boxes"]) == [[0.4, 0.2, 0.7, 0.55]]
    negative = by_file[f"images/valley_{dismissed}_opened.jpg"]
    assert negative["label"] == "negative" and negative["note"] == 'road dust, "again"'
    for name in by_file:
        with Image.open(io.BytesIO(files[name])) as img:
            assert img.format == "JPEG" and img.size == (320, 240)
    # The clean copy: no box drawn on it (the annotated one has a bright outline).
    with Image.open(io.BytesIO(files[f"images/ridge_{confirmed}_opened.jpg"])) as img:
        clean = np.asarray(img.convert("RGB")).astype(int)
    expected = make_frame("ridge", T0).image.astype(int)
    assert np.abs(clean - expected).mean() < 4
    assert "labels.csv" in files["README.txt"].decode()


def test_dataset_zip(client: TestClient, decided: dict[str, int]) -> None:
    response = client.get("/api/export/dataset.zip")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    _check_dataset(files, decided)
    only_valley = client.get("/api/export/dataset.zip?camera=valley")
    with zipfile.ZipFile(io.BytesIO(only_valley.content)) as zf:
        names = [n for n in zf.namelist() if n.startswith("images/")]
    assert names == [f"images/valley_{decided['dismissed']}_opened.jpg"]


def test_export_dataset_cli(
    client: TestClient, decided: dict[str, int], app_config: AppConfig, tmp_path: Path
) -> None:
    out = tmp_path / "set"
    env = {"EMBERWATCH_DATA_DIR": str(app_config.data_dir)}
    result = CliRunner().invoke(cli, ["export-dataset", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert "3 labelled images" in result.output
    files = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    _check_dataset(files, decided)


def test_dataset_skips_missing_snapshot_files(
    client: TestClient, decided: dict[str, int], app_config: AppConfig
) -> None:
    for path in app_config.snapshot_dir.rglob("valley/**/*_clean.jpg"):
        path.unlink()
    with zipfile.ZipFile(io.BytesIO(client.get("/api/export/dataset.zip").content)) as zf:
        rows = _csv(zf.read("labels.csv").decode())
    assert {r["camera_id"] for r in rows} == {"ridge"}
