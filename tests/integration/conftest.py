from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tests.support.api_server import serve_app


@pytest.fixture
def api(redis_db: redis.Redis) -> Iterator[str]:
    """The API over real HTTP on loopback, backed by an empty Redis database (no workers)."""
    with serve_app() as base_url:
        yield base_url


AUTH = {"Authorization": "Bearer test-token"}
