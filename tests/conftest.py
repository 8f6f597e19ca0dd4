"""Test tiers: ``tests/unit`` needs no server; ``tests/integration`` gets a private redis-server
that this session starts on a free port (never the machine's Redis on 6379) and real worker
processes; ``tests/corpus`` reads ``../shared/corpus`` and skips when it is absent;
``tests/faults`` runs a service on a redis-server of its own and injects faults under load."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from shared.celery_app import get_celery
from shared.redis_conn import client_for
from shared.redis_server import RedisServer
from shared.settings import get_settings
from tests.support.service import Service

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

# Redis databases of the session's server, one per kind of user so they never share queues
DB_LIVE_SERVICE = 0
DB_FAULTS = 1
DB_SUPERVISOR = 2  # test_supervisor: `syndicate up` against a given REDIS_URL
# 3-4: ingest tests, 5-6: render tests, 7-9: publish tests
DB_IN_PROCESS = 15
# issue #3 (ingest formats): the ingest task run in-process, and the API's 422 pre-check
DB_INGEST_TASK = 3
DB_INGEST_API = 4
# issue #7 (observability): metrics and logs of a whole service of their own
DB_OBSERVABILITY = 12


def _clear_caches() -> None:
    get_settings.cache_clear()
    client_for.cache_clear()
    get_celery.cache_clear()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(data_dir=tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


def redis_url(server: RedisServer, db: int) -> str:
    return f"redis://{server.host}:{server.port}/{db}"


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """A clean SYNDICATE_* environment for in-process code; caches cleared before and after."""
    import os

    for name in list(os.environ):
        if name.startswith("SYNDICATE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SYNDICATE_DATA_DIR", str(tmp_path / "var"))
    _clear_caches()
    yield monkeypatch
    _clear_caches()


@pytest.fixture
def redis_db(redis_server: RedisServer, settings_env: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    """An empty Redis database for in-process code (SYNDICATE_REDIS_URL points at it)."""
    url = redis_url(redis_server, DB_IN_PROCESS)
    settings_env.setenv("SYNDICATE_REDIS_URL", url)
    settings_env.setenv("SYNDICATE_API_TOKENS", "test-token,other-token")
    client = redis.Redis.from_url(url)
    client.flushdb()
    _clear_caches()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def live_service(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """The whole service as real processes (API, three workers, scheduler), for the session."""
    service = Service(
        redis_url=redis_url(redis_server, DB_LIVE_SERVICE),
        data_dir=tmp_path_factory.mktemp("live"),
    )
    try:
        service.start_all()
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not here (a clone outside the team's machines)")
    return CORPUS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.path)
        if "/tests/integration/" in path:
            item.add_marker(pytest.mark.integration)
        elif "/tests/corpus/" in path:
            item.add_marker(pytest.mark.corpus)
        elif "/tests/faults/" in path:
            item.add_marker(pytest.mark.faults)
