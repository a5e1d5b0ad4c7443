"""Login limits that cannot be raced and never lock an owner out; hashing on a bounded pool.

The race runs against the real app served by uvicorn on loopback: 100 threads send a wrong
password at once from 127.0.0.1, the owner logs in from 127.0.0.2.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.login_guard import AttemptLimiter, HashPool, PoolBusy
from service.auth_config import AuthConfig
from service.config import AppConfig, ServerConfig
from store.roles import Role
from tests.fixtures.app import FakePipeline, LiveServer, camera_configs

PASSWORD = "correct horse battery"
LOGIN = "/api/auth/login"
MAX_FAILURES = 5


def test_attempts_count_per_name_and_address_before_any_check() -> None:
    limiter = AttemptLimiter(max_attempts=3, window_s=60.0, max_keys=100)
    key = ("admin", "10.0.0.9")
    assert [limiter.admit(key, 0.0) for _ in range(4)] == [0.0, 0.0, 0.0, 60.0]
    assert limiter.admit(key, 30.0) == 30.0
    assert limiter.admit(("admin", "10.0.0.7"), 30.0) == 0.0, "another address is not locked"
    assert limiter.admit(("other", "10.0.0.9"), 30.0) == 0.0, "another name is not locked"
    assert limiter.admit(key, 60.0) == 0.0, "the window has passed"


def test_a_success_starts_afresh() -> None:
    limiter = AttemptLimiter(max_attempts=2, window_s=60.0, max_keys=100)
    key = ("ann", "10.0.0.9")
    limiter.admit(key, 0.0)
    limiter.succeeded(key)
    assert [limiter.admit(key, 1.0) for _ in range(3)] == [0.0, 0.0, 60.0]


def test_an_attempt_never_checked_is_taken_back() -> None:
    limiter = AttemptLimiter(max_attempts=2, window_s=60.0, max_keys=100)
    key = ("ann", "10.0.0.9")
    limiter.admit(key, 0.0)
    limiter.admit(key, 1.0)
    limiter.forgive(key)  # the hashing pool was full: answered 503, nothing checked
    assert limiter.admit(key, 2.0) == 0.0
    assert limiter.admit(key, 3.0) == 57.0


def test_old_entries_are_forgotten_and_the_table_is_bounded() -> None:
    limiter = AttemptLimiter(max_attempts=5, window_s=60.0, max_keys=1000)
    for i in range(5000):
        limiter.admit((f"name{i}", "10.0.0.9"), 0.0)
    assert len(limiter) == 1000, "the least recently tried were dropped"
    limiter.admit(("late", "10.0.0.9"), 30.0)
    limiter.admit(("later", "10.0.0.9"), 61.0)
    assert len(limiter) == 2, "entries whose window passed are gone"


def test_the_hash_pool_runs_few_at_once_and_refuses_beyond_its_queue() -> None:
    pool = HashPool(threads=2, queue=3)
    release = threading.Event()
    running, peak, lock = [0], [0], threading.Lock()

    def work() -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        release.wait(30)
        with lock:
            running[0] -= 1
        return 1

    async def flood() -> list[int | BaseException]:
        tasks = [asyncio.ensure_future(pool.run(work)) for _ in range(10)]
        await asyncio.sleep(0)  # every task has tried to enter the pool
        release.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    try:
        results = asyncio.run(flood())
    finally:
        pool.close()
    assert results.count(1) == 5, "2 running + 3 queued"
    assert sum(isinstance(r, PoolBusy) for r in results) == 5
    assert peak[0] == 2


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    config = AppConfig(
        data_dir=tmp_path / "data",
        cameras=camera_configs(tmp_path),
        auth=AuthConfig(max_failures=MAX_FAILURES),
    )
    app = create_app(config, pipeline=FakePipeline(config.cameras))
    with LiveServer(app) as server:
        app.state.auth.add_user("owner", Role.ADMIN, PASSWORD)
        yield server


def _client(server: LiveServer, address: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=server.url, transport=transport, timeout=60)


def test_concurrent_wrong_passwords_get_the_limit_of_401s_then_429(live: LiveServer) -> None:
    attacker = _client(live, "127.0.0.1")

    def guess(i: int) -> int:
        body = {"name": "owner", "password": f"guess-{i:03d}"}
        return attacker.post(LOGIN, json=body).status_code

    with attacker, ThreadPoolExecutor(100) as threads:
        codes = Counter(threads.map(guess, range(100)))
        # A spoofed X-Forwarded-For does not give the guesser a fresh address.
        spoofed = attacker.post(
            LOGIN,
            json={"name": "owner", "password": PASSWORD},
            headers={"X-Forwarded-For": "127.0.0.3"},
        )
    assert codes == {401: MAX_FAILURES, 429: 100 - MAX_FAILURES}
    assert spoofed.status_code == 429 and int(spoofed.headers["retry-after"]) > 0

    with _client(live, "127.0.0.2") as owner:
        response = owner.post(LOGIN, json={"name": "owner", "password": PASSWORD})
        assert response.status_code == 200, "the owner at another address still logs in"
        assert owner.get("/api/auth/me").json()["name"] == "owner"
        assert owner.get("/healthz").status_code == 200


def test_a_trusted_proxy_names_the_client(tmp_path: Path) -> None:
    config = AppConfig(
        data_dir=tmp_path / "data",
        server=ServerConfig(forwarded_allow_ips=["10.9.9.9"]),
        auth=AuthConfig(max_failures=1),
    )
    app = create_app(config, pipeline=FakePipeline([]))
    wrong = {"name": "owner", "password": "not the password"}
    with TestClient(app, client=("10.9.9.9", 40000)) as proxy:
        app.state.auth.add_user("owner", Role.ADMIN, PASSWORD)
        behind = {"X-Forwarded-For": "192.0.2.10"}
        assert proxy.post(LOGIN, json=wrong, headers=behind).status_code == 401
        assert proxy.post(LOGIN, json=wrong, headers=behind).status_code == 429
        other = {"X-Forwarded-For": "192.0.2.11"}
        right = {"name": "owner", "password": PASSWORD}
        assert proxy.post(LOGIN, json=right, headers=other).status_code == 200
        # From an address that is not a trusted proxy the header is ignored.
        direct = TestClient(app, client=("192.0.2.10", 40001))
        assert direct.post(LOGIN, json=right, headers=other).status_code == 429


def test_a_login_refused_for_a_full_pool_does_not_count(tmp_path: Path) -> None:
    config = AppConfig(
        data_dir=tmp_path / "data", auth=AuthConfig(max_failures=1, hash_threads=1, hash_queue=0)
    )
    app = create_app(config, pipeline=FakePipeline([]))
    started, release = threading.Event(), threading.Event()

    def occupy() -> None:
        started.set()
        release.wait(30)

    wrong = {"name": "owner", "password": "not the password"}
    with TestClient(app) as client:
        app.state.auth.add_user("owner", Role.ADMIN, PASSWORD)
        busy = threading.Thread(target=asyncio.run, args=(app.state.login.pool.run(occupy),))
        busy.start()
        try:
            assert started.wait(30)
            refused = client.post(LOGIN, json=wrong)
            assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        finally:
            release.set()
            busy.join(30)
        assert client.post(LOGIN, json=wrong).status_code == 401, "the 503 was not counted"
        assert client.post(LOGIN, json=wrong).status_code == 429
