"""Fixtures of the security tests (issue #7).

``security_service`` is one whole service (API, three workers, scheduler) on the Redis database
reserved for these tests, with an admin token, an ingest-only token and DEBUG logs, so a test can
look for a secret in everything every part wrote. ``scoped_api`` is the in-process API (no
workers) with both kinds of token and no allowed private networks (the SSRF guard at full
strength).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
import requests

from shared.redis_server import RedisServer
from tests.conftest import DB_IN_PROCESS, redis_url
from tests.conftest import _clear_caches as clear_caches
from tests.support.api_server import serve_app
from tests.support.service import Service

DB_SECURITY = 14
#: tokens spelt so that a log line or a listing that leaks one is found by a plain search
ADMIN_TOKEN = "adm-tok-4f1c9e27b8d3a650-secret"
INGEST_TOKEN = "ing-tok-8a2d6b0c5e7f9134-secret"
PROBLEM = "application/problem+json"

# the in-process API's tokens (tests/conftest.py redis_db sets the admin ones)
API_ADMIN = "test-token"
API_INGEST = "ingest-only-token"


def assert_problem(response: requests.Response, status: int, *words: str) -> dict[str, object]:
    """A problem+json answer with ``status`` whose text mentions every one of ``words``."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= set(body)
    for word in words:
        assert word in json.dumps(body), (word, body)
    return dict(body)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def serving(server: RedisServer, tmp_path: Path, **env: str) -> Iterator[str]:
    """The in-process API over real HTTP on an empty Redis database, with ``SYNDICATE_*``
    settings ``env`` on top of the in-process defaults; for a whole module of tests."""
    url = redis_url(server, DB_IN_PROCESS)
    client = redis.Redis.from_url(url)
    client.flushdb()
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("SYNDICATE_"):
                patch.delenv(name)
        values = {
            "DATA_DIR": str(tmp_path / "var"),
            "REDIS_URL": url,
            "API_TOKENS": API_ADMIN,
            "INGEST_TOKENS": API_INGEST,
            **env,
        }
        for name, value in values.items():
            patch.setenv(f"SYNDICATE_{name}", value)
        clear_caches()
        try:
            with serve_app() as base_url:
                yield base_url
        finally:
            client.flushdb()
            client.close()
            clear_caches()


@pytest.fixture(scope="module")
def scoped_api(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The in-process API with an admin token (``test-token``) and an ingest-only token, and no
    private network allowed to the SSRF guard."""
    with serving(redis_server, tmp_path_factory.mktemp("scoped")) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def security_service(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    url = redis_url(redis_server, DB_SECURITY)
    redis.Redis.from_url(url).flushdb()
    service = Service(
        redis_url=url,
        data_dir=tmp_path_factory.mktemp("security"),
        token=ADMIN_TOKEN,
        env_extra={
            "SYNDICATE_INGEST_TOKENS": INGEST_TOKEN,
            "SYNDICATE_LOG_LEVEL": "DEBUG",
            "SYNDICATE_FEED_RENDER_WINDOW": "0.1",
            "SYNDICATE_WEBSUB_LEASE_MIN_SECONDS": "60",
        },
    )
    try:
        service.start_all()
        yield service
    finally:
        service.stop()


@pytest.fixture
def security_redis(security_service: Service) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(security_service.redis_url)
    yield client
    client.close()
