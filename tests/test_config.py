"""Configuration: one YAML file, validated once, errors naming the key at fault."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from cli.main import app
from service.config import ConfigError, load_config

GOOD = """
cameras:
  - id: ridge-north
    name: Ridge north
    url: rtsp://admin:${CAM_PASS}@127.0.0.1:8554/north
    interval_s: 10
    latitude: 32.9
    longitude: -116.8
    heading_deg: 270
    fov_deg: 60
    masks: [[[0, 0], [0.2, 0], [0.2, 0.1]]]
    thresholds: {smoke: 0.6}
smoothing: {tau_s: 30, min_persistence_s: 20}
server: {port: 8080}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "emberwatch.yaml"
    path.write_text(text)
    return path


def test_good_config_with_secret_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAM_PASS", "s3cret")
    cfg = load_config(write(tmp_path, GOOD), data_dir=tmp_path)
    cam = cfg.cameras[0]
    assert cam.url == "rtsp://admin:s3cret@127.0.0.1:8554/north"
    assert cam.thresholds == {"smoke": 0.6} and cfg.smoothing.tau_s == 30
    assert cfg.database_url == f"sqlite:///{tmp_path / 'emberwatch.db'}"
    assert cfg.server.port == 8080


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cameras: [{id: a, url: x.mp4, colour: red}]", "cameras.a.colour: unknown key"),
        ("smoothing: {tau: 3}", "smoothing.tau: unknown key"),
        (
            'cameras: [{id: a, url: "ftp://archive/a.mp4"}]',
            "cameras.a.url: unsupported scheme 'ftp'",
        ),
        (
            "cameras: [{id: a, url: 'rtsp://u:${NOPE_PW}@h/s'}]",
            "cameras.a.url: .*NOPE_PW is not set",
        ),
        (
            "cameras: [{id: a, url: x.mp4}, {id: a, url: y.mp4}]",
            "  cameras: camera id 'a' is used twice",
        ),
        (
            "cameras: [{id: a, url: x.mp4, masks: [[[0, 0], [1, 1]]]}]",
            "cameras.a.masks: mask 0 .*at least 3",
        ),
        ("cameras: [{id: a, url: x.mp4, interval_s: -1}]", "cameras.a.interval_s: Input should be"),
        ("cameras: [{url: x.mp4}]", "cameras.0.id: Field required"),  # no id to name it by
        ("server: {port: 99999}", "server.port"),
        ("- just\n- a list", "mapping at the top level"),
        (
            "cameras: [",
            "emberwatch.yaml is not valid YAML: line 1, column 11: while parsing a flow node",
        ),
        ("a: 1\n b: 2", "emberwatch.yaml is not valid YAML: line 2, column 3: mapping values"),
    ],
)
def test_bad_config_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("$", r"\$").replace("{", r"\{")) as err:
        load_config(write(tmp_path, text))
    assert "Value error" not in str(err.value) and "<unicode string>" not in str(err.value)


def test_validate_config_command(tmp_path: Path, plume_model_dir: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"")
    good = write(
        tmp_path, f"cameras: [{{id: a, url: {clip}}}]\ndetector: {{model_dir: {plume_model_dir}}}\n"
    )
    result = CliRunner().invoke(app, ["validate-config", str(good)])
    assert result.exit_code == 0, result.output
    assert "is valid: 1 camera(s)" in result.output
    bad = write(tmp_path, "cameras: [{id: a, url: missing.mp4, fps: 3}]")
    result = CliRunner().invoke(app, ["validate-config", str(bad)])
    assert result.exit_code == 2
    assert "cameras.a.fps: unknown key" in result.output
    missing = write(
        tmp_path,
        f"cameras: [{{id: a, url: {tmp_path}/gone.mp4}}]\n"
        f"detector: {{model_dir: {plume_model_dir}}}\n",
    )
    result = CliRunner().invoke(app, ["validate-config", str(missing)])
    assert result.exit_code == 2 and "gone.mp4 does not exist" in result.output


def test_serve_refuses_a_missing_model_with_one_line(tmp_path: Path) -> None:
    config = write(
        tmp_path, f"cameras: [{{id: a, url: x.mp4}}]\ndetector: {{model_dir: {tmp_path}/m}}"
    )
    result = CliRunner().invoke(
        app, ["serve", "--config", str(config), "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert f"model directory {tmp_path}/m does not exist" in result.output


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command's path below ``group`` (a Typer group: it has ``commands``)."""
    found = [path]
    for name, command in group.commands.items():
        sub = (*path, name)
        found += _commands(command, sub) if hasattr(command, "commands") else [sub]
    return found


def test_every_help_is_readable_at_80_columns() -> None:
    """No line past the 80th column, and no option name or description cut short."""
    commands = _commands(typer.main.get_command(app))
    assert ("bench", "clips") in commands and ("users", "add") in commands
    for path in commands:
        result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
        assert result.exit_code == 0, (path, result.output)
        lines = result.output.splitlines()
        assert max(len(line) for line in lines) <= 80, path
        cut = [
            line for line in lines if line.rstrip().endswith(("…", "...")) and "Usage:" not in line
        ]
        assert cut == [] and "…" not in result.output, path
