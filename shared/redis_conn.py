"""The process's Redis client, built once from settings."""

from __future__ import annotations

from functools import lru_cache

import redis

from shared.settings import get_settings


@lru_cache(maxsize=4)
def client_for(url: str) -> redis.Redis:
    """A pooled client for ``url``; bytes in and out (raw copy is bytes)."""
    return redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)


def get_redis() -> redis.Redis:
    """The Redis of this process's settings."""
    return client_for(get_settings().effective_redis_url())


def text(value: object) -> str:
    """A Redis reply as ``str`` (replies are bytes; the types say ``bytes | str``)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def raw(value: object) -> bytes:
    """A Redis reply as ``bytes``."""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")
