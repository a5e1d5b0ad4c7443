"""Accounts and roles through the real app: tokens, console sessions, CSRF, role checks."""

from __future__ import annotations

import os
import stat

import pytest
from fastapi.testclient import TestClient

from api.auth import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from service.config import AppConfig
from store.accounts import INITIAL_PASSWORD_FILE
from store.roles import Role
from tests.fixtures.app import client_as, open_event

PASSWORD = "correct horse battery"


def _login(client: TestClient, name: str, role: Role) -> tuple[TestClient, str]:
    """A browser-like client of the same app logged in as a new user; returns it and its CSRF."""
    client.app.state.auth.add_user(name, role, PASSWORD)  # type: ignore[attr-defined]
    browser = TestClient(client.app)
    response = browser.post("/api/auth/login", json={"name": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    csrf = response.json()["csrf_token"]
    assert browser.cookies[CSRF_COOKIE] == csrf and browser.cookies[SESSION_COOKIE]
    return browser, csrf


def test_role_order() -> None:
    assert Role.VIEWER < Role.OPERATOR < Role.ADMIN
    assert Role.ADMIN >= Role.OPERATOR and not Role.VIEWER >= Role.OPERATOR
    assert sorted([Role.ADMIN, Role.VIEWER, Role.OPERATOR]) == [
        Role.VIEWER,
        Role.OPERATOR,
        Role.ADMIN,
    ]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/events"),
        ("get", "/api/events/1"),
        ("get", "/api/events/1/snapshot.jpg"),
        ("post", "/api/events/1/confirm"),
        ("post", "/api/events/1/dismiss"),
        ("get", "/api/cameras"),
        ("get", "/api/cameras/ridge"),
        ("get", "/api/cameras/ridge/latest.jpg"),
        ("get", "/api/users"),
        ("get", "/api/auth/me"),
    ],
)
def test_unauthenticated_gets_401_with_a_challenge(
    anon_client: TestClient, method: str, path: str
) -> None:
    response = anon_client.request(method, path, json={} if method == "post" else None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json() == {"detail": "authentication required"}


def test_health_and_metrics_stay_open(anon_client: TestClient) -> None:
    assert anon_client.get("/healthz").status_code == 200
    assert anon_client.get("/metrics").status_code == 200


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ("Bearer ew_not-a-token", "the API token is invalid or revoked"),
        ("Basic YWRtaW46YWRtaW4=", "the Authorization header must be 'Bearer <token>'"),
    ],
)
def test_bad_credentials(anon_client: TestClient, header: str, detail: str) -> None:
    response = anon_client.get("/api/events", headers={"Authorization": header})
    assert response.status_code == 401 and response.json()["detail"] == detail


def test_viewer_reads_but_cannot_decide(client: TestClient, viewer_client: TestClient) -> None:
    event_id = open_event(client)
    assert viewer_client.get("/api/events").json()["total"] == 1
    assert viewer_client.get(f"/api/events/{event_id}/snapshot.jpg").status_code == 200
    assert viewer_client.get("/api/cameras").status_code == 200
    response = viewer_client.post(f"/api/events/{event_id}/confirm", json={"note": "x"})
    assert response.status_code == 403
    assert response.json() == {"detail": "this needs the operator role; vera is viewer"}
    assert client.get(f"/api/events/{event_id}").json()["status"] == "open"


def test_operator_decides_as_themself(client: TestClient, operator_client: TestClient) -> None:
    event_id = open_event(client)
    response = operator_client.post(
        f"/api/events/{event_id}/dismiss", json={"operator": "mallory", "note": "a chimney"}
    )
    assert response.status_code == 200
    assert (response.json()["operator"], response.json()["note"]) == ("otto", "a chimney")


def test_user_management_needs_admin(operator_client: TestClient) -> None:
    response = operator_client.get("/api/users")
    assert response.status_code == 403
    assert response.json()["detail"] == "this needs the admin role; otto is operator"
    response = operator_client.post("/api/users", json={"name": "eve", "role": "admin"})
    assert response.status_code == 403


def test_admin_manages_users(client: TestClient) -> None:
    created = client.post(
        "/api/users", json={"name": "lin", "role": "operator", "password": PASSWORD}
    )
    assert created.status_code == 201
    assert (created.json()["name"], created.json()["role"], created.json()["has_password"]) == (
        "lin",
        "operator",
        True,
    )
    assert client.post("/api/users", json={"name": "lin"}).status_code == 409
    bad = client.post("/api/users", json={"name": "-x", "password": PASSWORD})
    assert bad.status_code == 422 and "body.name: " in bad.json()["detail"]
    assert "a user name is 1-64 letters" in bad.json()["detail"]
    short = client.post("/api/users", json={"name": "kim", "password": "short"})
    assert short.status_code == 422 and "body.password: " in short.json()["detail"]
    assert "at least 8" in short.json()["detail"]
    patch = client.patch("/api/users/lin", json={"password": "short"})
    assert patch.status_code == 422 and "at least 8" in patch.json()["detail"]

    token = client.post("/api/users/lin/tokens", json={"label": "script"}).json()["token"]
    lin = TestClient(client.app, headers={"Authorization": f"Bearer {token}"})
    assert lin.get("/api/auth/me").json() == {"name": "lin", "role": "operator", "csrf_token": None}
    assert client.patch("/api/users/lin", json={"role": "viewer"}).json()["role"] == "viewer"
    assert lin.get("/api/auth/me").json()["role"] == "viewer"
    assert client.delete("/api/users/lin/tokens").status_code == 204
    assert lin.get("/api/auth/me").status_code == 401

    names = [u["name"] for u in client.get("/api/users").json()]
    assert names == ["admin", "chief", "lin"]
    assert client.delete("/api/users/lin").status_code == 204
    assert client.delete("/api/users/lin").status_code == 404
    assert client.patch("/api/users/nobody", json={"role": "admin"}).status_code == 404


def test_admin_cannot_lock_themself_out(client: TestClient) -> None:
    assert client.delete("/api/users/chief").status_code == 400
    assert client.patch("/api/users/chief", json={"role": "viewer"}).status_code == 400


def test_console_session_and_csrf(client: TestClient) -> None:
    event_id = open_event(client)
    browser, csrf = _login(client, "mei", Role.OPERATOR)
    me = browser.get("/api/auth/me").json()
    assert me == {"name": "mei", "role": "operator", "csrf_token": csrf}
    assert browser.get("/api/events").status_code == 200  # reads need no CSRF token

    url = f"/api/events/{event_id}/confirm"
    missing = browser.post(url, json={})
    assert missing.status_code == 403 and CSRF_HEADER in missing.json()["detail"]
    forged = csrf[:-1] + ("y" if csrf.endswith("x") else "x")  # differs in its last character
    wrong = browser.post(url, json={}, headers={CSRF_HEADER: forged})
    assert wrong.status_code == 403
    assert client.get(f"/api/events/{event_id}").json()["status"] == "open"
    ok = browser.post(url, json={"note": "seen"}, headers={CSRF_HEADER: csrf})
    assert ok.status_code == 200 and ok.json()["operator"] == "mei"

    assert browser.post("/api/auth/logout").status_code == 204
    assert browser.get("/api/auth/me").status_code == 401


def test_session_cookie_is_http_only(client: TestClient) -> None:
    client.app.state.auth.add_user("ren", Role.VIEWER, PASSWORD)  # type: ignore[attr-defined]
    response = TestClient(client.app).post(
        "/api/auth/login", json={"name": "ren", "password": PASSWORD}
    )
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(SESSION_COOKIE + "="))
    csrf = next(c for c in cookies if c.startswith(CSRF_COOKIE + "="))
    assert "HttpOnly" in session and "SameSite=lax" in session
    assert "HttpOnly" not in csrf


def test_login_failures(client: TestClient, anon_client: TestClient) -> None:
    client.app.state.auth.add_user("sam", Role.VIEWER, PASSWORD)  # type: ignore[attr-defined]
    for body in ({"name": "sam", "password": "wrong"}, {"name": "nobody", "password": PASSWORD}):
        response = anon_client.post("/api/auth/login", json=body)
        assert response.status_code == 401
        assert response.json() == {"detail": "wrong user name or password"}
    # A token-only account cannot log in with any password.
    assert (
        anon_client.post(
            "/api/auth/login", json={"name": "chief", "password": PASSWORD}
        ).status_code
        == 401
    )
    form = anon_client.post(
        "/api/auth/login",
        content=b"name=sam&password=" + PASSWORD.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 422, "only JSON logins: a cross-site form cannot log anyone in"


def test_repeated_failures_are_throttled(anon_client: TestClient, client: TestClient) -> None:
    client.app.state.auth.add_user("tao", Role.VIEWER, PASSWORD)  # type: ignore[attr-defined]
    for _ in range(5):
        bad = anon_client.post("/api/auth/login", json={"name": "tao", "password": "guess123"})
        assert bad.status_code == 401
    blocked = anon_client.post("/api/auth/login", json={"name": "tao", "password": PASSWORD})
    assert blocked.status_code == 429 and "retry-after" in blocked.headers


def test_change_own_password(client: TestClient) -> None:
    browser, csrf = _login(client, "uma", Role.VIEWER)
    body = {"current": PASSWORD, "new": "a much better one"}
    assert browser.post("/api/auth/password", json=body).status_code == 403  # no CSRF header
    wrong = browser.post(
        "/api/auth/password", json=body | {"current": "nope"}, headers={CSRF_HEADER: csrf}
    )
    assert wrong.status_code == 401
    ok = browser.post("/api/auth/password", json=body, headers={CSRF_HEADER: csrf})
    assert ok.status_code == 204
    assert browser.get("/api/auth/me").json()["name"] == "uma", "still logged in"
    again = TestClient(client.app).post(
        "/api/auth/login", json={"name": "uma", "password": "a much better one"}
    )
    assert again.status_code == 200


def test_initial_admin(client: TestClient, app_config: AppConfig) -> None:
    path = app_config.data_dir / INITIAL_PASSWORD_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    password = path.read_text().strip()
    response = TestClient(client.app).post(
        "/api/auth/login", json={"name": "admin", "password": password}
    )
    assert response.status_code == 200 and response.json()["role"] == "admin"


def test_initial_admin_only_on_an_empty_database(client: TestClient, app_config: AppConfig) -> None:
    auth = client.app.state.auth  # type: ignore[attr-defined]
    (app_config.data_dir / INITIAL_PASSWORD_FILE).unlink()
    assert auth.ensure_initial_admin(app_config.data_dir) is None
    assert not (app_config.data_dir / INITIAL_PASSWORD_FILE).exists()


def test_every_api_route_declares_auth_errors(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    open_routes = {"/api/auth/login", "/api/auth/logout"}
    # Capability links handed to departments: the unguessable token or signature in the URL is
    # the credential (alerts), so no account is asked for.
    capability_prefixes = ("/api/acks/", "/api/published/")
    for path, ops in spec["paths"].items():
        if not path.startswith("/api/") or path in open_routes:
            continue
        if path.startswith(capability_prefixes):
            continue
        for method, op in ops.items():
            assert "401" in op["responses"], (method, path)
            assert op.get("security"), (method, path)


def test_client_as_helper_roles(client: TestClient) -> None:
    viewer = client_as(client, "wu", Role.VIEWER)
    assert viewer.get("/api/auth/me").json()["role"] == "viewer"
