"""The process's Redis client, built once from settings."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

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


class Lua:
    """A Lua script that runs in one round trip on a client or inside a pipeline.

    redis-py's ``register_script`` objects make every pipeline that carries one ask
    ``SCRIPT EXISTS`` first: one more round trip each time. Here a pipeline carries
    ``EVAL`` with the script's text (Redis keeps the compiled script by its SHA1, so the
    text costs a hash, not a compile), and a plain client sends ``EVALSHA``, loading the
    script only when Redis does not have it (a restart, ``SCRIPT FLUSH``).
    """

    def __init__(self, script: str) -> None:
        self.script = script
        self.sha = hashlib.sha1(script.encode("utf-8"), usedforsecurity=False).hexdigest()

    def __call__(self, client: Any, keys: Sequence[Any] = (), args: Sequence[Any] = ()) -> Any:
        """Run on ``client``; on a pipeline, queue it (its reply comes from ``execute``)."""
        if isinstance(client, redis.client.Pipeline):
            return client.eval(self.script, len(keys), *keys, *args)
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            return client.eval(self.script, len(keys), *keys, *args)
