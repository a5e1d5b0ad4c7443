"""Department secrets and camera URLs are sealed at rest with the key file beside the database."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from api.app import create_app
from service.camera_registry import CameraIn
from service.config import AppConfig
from store.roles import Role
from store.sealing import KEY_FILE, PREFIX, SealingError, SecretBox
from tests.fixtures.app import FakePipeline, authorize, camera_configs

SECRET = "s3cret-value-0123456789"
HOOK = "https://fire.example/hook?access_token=T0ken-in-the-query"
CAMERA_URL = "rtsp://admin:Cam-pa55word@127.0.0.1:8554/x"
GATEWAY_KEY = "gw-Api-k3y-0123456789"
# An SMS gateway's department: its API key travels in a header of the template.
SMS = {
    "name": "SMS",
    "webhook_url": "https://sms.example.cn/api/send",
    "webhook_format": "template",
    "template": {"body": '{"text": "${summary}"}', "headers": {"X-Api-Key": GATEWAY_KEY}},
}


def _files(config: AppConfig) -> bytes:
    """Every byte SQLite keeps for the database (the WAL holds recent writes)."""
    return b"".join(p.read_bytes() for p in config.data_dir.glob("emberwatch.db*"))


def _raw(config: AppConfig, query: str) -> list[tuple[str, ...]]:
    db = sqlite3.connect(config.data_dir / "emberwatch.db")
    try:
        return db.execute(query).fetchall()
    finally:
        db.close()


@pytest.fixture
def config(tmp_path: Path) -> AppConfig:
    return AppConfig(data_dir=tmp_path / "data", cameras=camera_configs(tmp_path))


def _start(config: AppConfig) -> TestClient:
    client = TestClient(create_app(config, pipeline=FakePipeline(config.cameras)))
    client.__enter__()
    return authorize(client, "root", Role.ADMIN)


def test_department_secrets_and_camera_urls_are_sealed(config: AppConfig) -> None:
    client = _start(config)
    try:
        body = {"name": "Fire", "webhook_url": HOOK, "secret": SECRET}
        dep = client.post("/api/departments", json=body).json()
        sms = client.post("/api/departments", json=SMS).json()
        app = client.app
        app.state.cameras.create(CameraIn(id="gate", url=CAMERA_URL))  # type: ignore[attr-defined]
        # The service reads them back in the clear.
        stored = app.state.publish.departments.get(dep["id"])  # type: ignore[attr-defined]
        assert (stored.secret, stored.webhook_url) == (SECRET, HOOK)
        template = app.state.publish.departments.get(sms["id"]).template  # type: ignore[attr-defined]
        assert dict(template.headers) == {"X-Api-Key": GATEWAY_KEY}
        assert app.state.cameras.get("gate").url == CAMERA_URL  # type: ignore[attr-defined]
        on_disk = _files(config)
    finally:
        client.__exit__(None, None, None)
    for plain in (SECRET, "T0ken-in-the-query", "Cam-pa55word", GATEWAY_KEY):
        assert plain.encode() not in on_disk
    (secret, url), *_ = _raw(config, "SELECT secret, webhook_url FROM departments")
    assert secret.startswith(PREFIX) and url.startswith(PREFIX)
    ((template_text,),) = _raw(config, "SELECT webhook_template FROM departments WHERE name='SMS'")
    assert template_text.startswith(PREFIX)
    key = config.data_dir / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # After a restart the camera runs with its URL opened again.
    client = _start(config)
    try:
        assert client.app.state.cameras.get("gate").url == CAMERA_URL  # type: ignore[attr-defined]
    finally:
        client.__exit__(None, None, None)


def test_secrets_stored_in_plain_text_before_are_sealed_at_start(config: AppConfig) -> None:
    client = _start(config)
    body = {"name": "Fire", "webhook_url": HOOK, "secret": SECRET}
    dep_id = client.post("/api/departments", json=body).json()["id"]
    sms_id = client.post("/api/departments", json=SMS).json()["id"]
    client.__exit__(None, None, None)
    db = sqlite3.connect(config.data_dir / "emberwatch.db")  # as an earlier version wrote them
    db.execute(
        "UPDATE departments SET secret = ?, webhook_url = ? WHERE id = ?", (SECRET, HOOK, dep_id)
    )
    plain = {"method": "POST", "content_type": "application/json", "body": "${summary}",
             "headers": {"X-Api-Key": GATEWAY_KEY}}  # fmt: skip
    db.execute(
        "UPDATE departments SET webhook_template = ? WHERE id = ?", (json.dumps(plain), sms_id)
    )
    db.execute(
        "INSERT INTO runtime_cameras (camera_id, definition, deleted, created_at, updated_at)"
        " VALUES ('gate', ?, 0, 0, 0)",
        (f'{{"id": "gate", "url": "{CAMERA_URL}"}}',),
    )
    db.commit()
    db.close()

    client = _start(config)
    try:
        stored = client.app.state.publish.departments.get(dep_id)  # type: ignore[attr-defined]
        assert (stored.secret, stored.webhook_url) == (SECRET, HOOK)
        assert client.app.state.cameras.get("gate").url == CAMERA_URL  # type: ignore[attr-defined]
        template = client.app.state.publish.departments.get(sms_id).template  # type: ignore[attr-defined]
        assert dict(template.headers) == {"X-Api-Key": GATEWAY_KEY}
    finally:
        client.__exit__(None, None, None)
    (secret, url), *_ = _raw(config, "SELECT secret, webhook_url FROM departments")
    ((definition,),) = _raw(config, "SELECT definition FROM runtime_cameras")
    ((template_text,),) = _raw(config, "SELECT webhook_template FROM departments WHERE name='SMS'")
    assert all(v.startswith(PREFIX) for v in (secret, url, definition, template_text))


def test_a_foreign_key_is_a_clear_error() -> None:
    sealed = SecretBox(Fernet.generate_key()).seal("x")
    with pytest.raises(SealingError, match="does not open with the key"):
        SecretBox(Fernet.generate_key()).open(sealed)
    assert SecretBox(Fernet.generate_key()).open("plain") == "plain", "rows from before sealing"
