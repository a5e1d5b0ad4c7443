"""API tokens expire, die with a password reset, and an admin cannot revoke their last access."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from store.accounts import AuthStore, LastAccess
from store.db import init_db, make_engine
from store.roles import Role
from tests.fixtures.app import ADMIN_NAME, client_as

PASSWORD = "correct horse battery"
DAY = 86400.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_780_315_200.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> AuthStore:
    engine = make_engine(f"sqlite:///{tmp_path / 'auth.db'}")
    init_db(engine)
    # Cheap hashing parameters: these tests are about tokens, not argon2.
    fast = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    return AuthStore(engine, hasher=fast, clock=clock, token_lifetime_s=30 * DAY)


def test_a_token_stops_working_when_it_expires(store: AuthStore, clock: Clock) -> None:
    store.add_user("grafana", Role.VIEWER)
    new = store.new_token("grafana", "dashboards")
    assert new.expires_at == clock.now + 30 * DAY
    clock.now += 30 * DAY - 1
    assert store.user_for_token(new.token) is not None
    assert [u.tokens for u in store.list_users()] == [1]
    clock.now += 1
    assert store.user_for_token(new.token) is None
    assert [u.tokens for u in store.list_users()] == [0], "expired tokens are not counted"


def test_tokens_without_a_lifetime_last_until_revoked(tmp_path: Path, clock: Clock) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'auth.db'}")
    init_db(engine)
    store = AuthStore(engine, clock=clock, token_lifetime_s=None)
    store.add_user("script", Role.VIEWER)
    new = store.new_token("script")
    clock.now += 3650 * DAY
    assert new.expires_at is None and store.user_for_token(new.token) is not None


def test_a_new_password_revokes_tokens_and_sessions(store: AuthStore) -> None:
    user = store.add_user("uma", Role.OPERATOR, PASSWORD)
    token = store.issue_token("uma")
    session = store.open_session(user)
    store.update_user("uma", password="a brand new secret")
    assert store.user_for_token(token) is None
    assert store.session_user(session.token) is None
    assert store.verify_password("uma", "a brand new secret") is not None


def test_a_rehash_at_login_keeps_tokens(tmp_path: Path, store: AuthStore, clock: Clock) -> None:
    store.add_user("uma", Role.OPERATOR, PASSWORD)
    token = store.issue_token("uma")
    engine = make_engine(f"sqlite:///{tmp_path / 'auth.db'}")
    hasher = PasswordHasher(time_cost=2, memory_cost=64, parallelism=1)
    stronger = AuthStore(engine, hasher=hasher, clock=clock)
    assert stronger.verify_password("uma", PASSWORD) is not None  # rehashed with new params
    assert stronger.user_for_token(token) is not None, "same password: nothing revoked"


def test_a_token_only_user_cannot_revoke_their_own_tokens(store: AuthStore) -> None:
    store.add_user("robot", Role.ADMIN)
    token = store.issue_token("robot")
    with pytest.raises(LastAccess, match="set a password first"):
        store.revoke_tokens("robot", actor="robot")
    assert store.user_for_token(token) is not None
    assert store.revoke_tokens("robot", actor="someone-else") == 1


def test_api_token_answer_carries_its_expiry(client: TestClient) -> None:
    store = client.app.state.auth  # type: ignore[attr-defined]
    store.add_user("grafana", Role.VIEWER)
    answer = client.post("/api/users/grafana/tokens", json={"label": "dashboards"})
    assert answer.status_code == 201
    body = answer.json()
    assert body["expires_at"] is not None  # auth.token_days: 90 by default
    assert store.user_for_token(body["token"]).name == "grafana"


def test_an_admin_password_reset_locks_out_the_users_tokens_and_sessions(
    client: TestClient,
) -> None:
    client.app.state.auth.add_user("uma", Role.OPERATOR, PASSWORD)  # type: ignore[attr-defined]
    scripted = client_as(client, "uma")  # a bearer token of uma
    browser = TestClient(client.app)
    assert browser.post("/api/auth/login", json={"name": "uma", "password": PASSWORD}).is_success
    assert scripted.get("/api/events").status_code == 200
    assert browser.get("/api/events").status_code == 200

    reset = client.patch("/api/users/uma", json={"password": "reset by the admin"})
    assert reset.status_code == 200 and reset.json()["tokens"] == 0
    assert scripted.get("/api/events").status_code == 401
    assert browser.get("/api/events").status_code == 401


def test_an_admin_cannot_revoke_their_own_last_credential(client: TestClient) -> None:
    # The fixture's admin is a token-only account: its tokens are its only way in.
    refused = client.delete(f"/api/users/{ADMIN_NAME}/tokens")
    assert refused.status_code == 409 and "set a password first" in refused.json()["detail"]
    assert client.get("/api/users").status_code == 200, "still signed in"
    # Another admin may revoke them; so may the admin once they have a password.
    other = client_as(client, "ops", Role.ADMIN)
    assert other.delete(f"/api/users/{ADMIN_NAME}/tokens").status_code == 204
    assert client.get("/api/users").status_code == 401
