from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tests.support.api_server import serve_app
from tests.support.rawserver import RawServer
from tests.support.websub_callback import Callback


@pytest.fixture
def servers() -> Iterator[list[RawServer]]:
    """Raw servers a test starts (``tests.support.rawserver.serve``); all stopped at its end."""
    started: list[RawServer] = []
    yield started
    for server in started:
        server.stop()


@pytest.fixture
def api(redis_db: redis.Redis) -> Iterator[str]:
    """The API over real HTTP on loopback, backed by an empty Redis database (no workers)."""
    with serve_app() as base_url:
        yield base_url


@pytest.fixture
def callback() -> Iterator[Callback]:
    """A WebSub subscriber's callback on loopback: echoes challenges, records what it gets."""
    cb = Callback()
    cb.start()
    yield cb
    cb.stop()


AUTH = {"Authorization": "Bearer test-token"}
