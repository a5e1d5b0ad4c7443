"""``emberwatch users``: accounts made on the command line work against the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from cli.main import app as cli
from service.config import AppConfig
from tests.fixtures.app import FakePipeline, camera_configs

PASSWORD = "tower-seven-watch"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def _run(data_dir: Path, *args: str, password: str | None = PASSWORD, stdin: str = "") -> str:
    env = {"EMBERWATCH_DATA_DIR": str(data_dir)}
    if password is not None:
        env["EMBERWATCH_PASSWORD"] = password
    result = CliRunner().invoke(cli, ["users", *args], env=env, input=stdin)
    assert result.exit_code == 0, result.output
    return result.output


def test_add_list_token_and_login(data_dir: Path, tmp_path: Path) -> None:
    assert "user ana created with role admin" in _run(data_dir, "add", "ana", "--role", "admin")
    _run(data_dir, "add", "bot", "--role", "viewer", "--no-password")
    listing = _run(data_dir, "list")
    assert "ana" in listing and "admin" in listing and "password" in listing
    assert "bot" in listing and "token-only" in listing
    token = _run(data_dir, "token", "bot", "--label", "grafana").strip()
    assert token.startswith("ew_") and "tokens=1" in _run(data_dir, "list")

    config = AppConfig(data_dir=data_dir, cameras=camera_configs(tmp_path))
    with TestClient(create_app(config, pipeline=FakePipeline(config.cameras))) as client:
        assert not (data_dir / "initial-admin-password.txt").exists(), "users exist already"
        me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["name"] == "bot" and me.json()["role"] == "viewer"
        login = client.post("/api/auth/login", json={"name": "ana", "password": PASSWORD})
        assert login.status_code == 200 and login.json()["role"] == "admin"


def test_password_from_the_prompt(data_dir: Path) -> None:
    secret = "typed-at-the-prompt"
    _run(data_dir, "add", "kai", password=None, stdin=f"{secret}\n{secret}\n")
    _run(data_dir, "role", "kai", "operator")
    assert "operator" in _run(data_dir, "list")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "root", "--role", "admin"), "already exists"),
        (("add", "x y"), "user name"),
        (("token", "nobody"), "user 'nobody' does not exist"),
        (("delete", "nobody"), "user 'nobody' does not exist"),
    ],
)
def test_errors(data_dir: Path, args: tuple[str, ...], message: str) -> None:
    _run(data_dir, "add", "root", "--role", "admin")
    env = {"EMBERWATCH_DATA_DIR": str(data_dir), "EMBERWATCH_PASSWORD": PASSWORD}
    result = CliRunner().invoke(cli, ["users", *args], env=env)
    assert result.exit_code == 1 and message in result.output


def test_short_password_is_refused(data_dir: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["users", "add", "lee"],
        env={"EMBERWATCH_DATA_DIR": str(data_dir), "EMBERWATCH_PASSWORD": "short"},
    )
    assert result.exit_code == 1 and "at least 8 characters" in result.output
