"""Redis Cluster runs a transaction or a script only when every key it names hashes to one slot.
Checked on a single Redis by watching what sources send it: every transaction (``MULTI``) and
every script (``EVAL``) touching a source's keys in a whole life of sources (create, poll a feed that advertises a hub,
a push, a drop folder, changes, delete) names keys of one slot only."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.crc import key_slot

from services.ingest.sources import manage, store, subscriber
from services.ingest.sources.fetch import http_client
from services.ingest.sources.model import SourceIn, SourcePatch, WebSubState
from services.ingest.sources.poll import poll
from shared import keys
from shared.settings import get_settings
from tests.conftest import _clear_caches
from tests.support.upstream import Answer, Upstream, rss

#: the keys of sources (``syndicate:source:…``, ``syndicate:sources``, ``…:due``)
SOURCE_KEYS = f"{keys.PREFIX}source".encode()

#: commands whose every argument after the name is a key (the others: the first one only)
ALL_KEYS = {"DEL", "UNLINK", "EXISTS", "WATCH"}


def keys_of(args: tuple[Any, ...]) -> list[bytes]:
    name = str(args[0]).upper()
    named = args[1:] if name in ALL_KEYS else args[1:2]
    return [k if isinstance(k, bytes) else str(k).encode() for k in named]


@pytest.fixture
def slots(monkeypatch: pytest.MonkeyPatch) -> list[list[bytes]]:
    """Every transaction's and script's keys, each list checked to be of one slot."""
    seen: list[list[bytes]] = []
    execute = redis.client.Pipeline.execute
    evaluate, evaluate_sha = redis.Redis.eval, redis.Redis.evalsha

    def one_slot(used: list[bytes]) -> None:
        if not any(key.startswith(SOURCE_KEYS) for key in used):
            return  # another area's (raw items: ingest's store)
        seen.append(used)
        assert len({key_slot(key) for key in used}) <= 1, f"keys of several slots: {used}"

    def checked_execute(self: redis.client.Pipeline, raise_on_error: bool = True) -> Any:
        if self.transaction:
            one_slot([key for args, _options in self.command_stack for key in keys_of(args)])
        return execute(self, raise_on_error)

    def checked_eval(self: redis.Redis, script: str, numkeys: int, *args: Any) -> Any:
        one_slot([str(key).encode() for key in args[:numkeys]])
        return evaluate(self, script, numkeys, *args)

    def checked_evalsha(self: redis.Redis, sha: str, numkeys: int, *args: Any) -> Any:
        one_slot([str(key).encode() for key in args[:numkeys]])
        return evaluate_sha(self, sha, numkeys, *args)

    monkeypatch.setattr(redis.client.Pipeline, "execute", checked_execute)
    monkeypatch.setattr(redis.Redis, "eval", checked_eval)
    monkeypatch.setattr(redis.Redis, "evalsha", checked_evalsha)  # shared.redis_conn.Lua
    return seen


@pytest.fixture
def env(redis_db: redis.Redis, settings_env: pytest.MonkeyPatch, tmp_path: Path) -> redis.Redis:
    settings_env.setenv("SYNDICATE_SOURCE_MIN_INTERVAL_SECONDS", "1")
    settings_env.setenv("SYNDICATE_SOURCE_ALLOWED_NETWORKS", "127.0.0.0/8")
    settings_env.setenv("SYNDICATE_SOURCE_FOLDER_ROOTS", str(tmp_path / "drop"))
    settings_env.setenv("SYNDICATE_SOURCE_FILE_SETTLE_SECONDS", "0")
    settings_env.setenv("SYNDICATE_PUBLIC_URL", "http://127.0.0.1:9")
    _clear_caches()
    return redis_db


def test_every_transaction_and_script_of_sources_stays_in_one_slot(
    env: redis.Redis, upstream: Upstream, slots: list[list[bytes]], tmp_path: Path
) -> None:
    settings = get_settings()
    hub = upstream.serve("/hub", Answer(202))
    link = f'<{hub}>; rel="hub"'
    body = rss([("k-2", "Second"), ("k-1", "First")])
    url = upstream.serve(
        "/feed", Answer(200, {"Content-Type": "application/rss+xml", "Link": link}, body)
    )
    feed = manage.create(env, SourceIn(name="feed", url=url, interval_seconds=60), settings).id
    report = poll(env, feed, settings, http_client())
    assert report.taken == 2 and report.websub == "subscribe requested"

    now = store.redis_now(env)
    active = WebSubState(
        hub=hub, topic=url, secret="s", lease_seconds=600, expires_at=now + timedelta(minutes=9)
    )
    store.update_websub(env, feed, lambda _state: active)
    pushed = rss([("k-3", "Third")])
    signature = "sha256=" + hmac.new(b"s", pushed, hashlib.sha256).hexdigest()
    assert subscriber.push(env, feed, signature, "application/rss+xml", pushed, now).taken == 1

    folder = tmp_path / "drop" / "desk"
    folder.mkdir(parents=True)
    (folder / "story.txt").write_bytes(
        (Path(__file__).parents[2] / "data" / "plain_wire.txt").read_bytes()
    )
    desk = manage.create(
        env, SourceIn(name="desk", path=str(folder), interval_seconds=1), settings
    ).id
    poll(env, desk, settings, http_client())
    assert poll(env, desk, settings, http_client()).taken == 1

    manage.update(env, feed, SourcePatch(interval_seconds=120, enabled=False), settings)
    manage.poll_soon(env, desk, settings)
    assert store.claim_due(env, store.redis_now(env), 30, 10) == [desk]
    manage.remove(env, feed)
    manage.remove(env, desk)
    assert len(slots) >= 10  # the check saw the transactions and scripts (and found one slot each)
    for _ in range(2):  # the second call sends the script by its SHA (the first may load it)
        store.claim_due(env, store.redis_now(env), 30, 10)
    assert slots.count([keys.sources_due().encode()]) >= 3, "every claim's keys were checked"
