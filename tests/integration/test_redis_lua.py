"""``shared.redis_conn.Lua``: one round trip on a client or inside a pipeline."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from redis.connection import AbstractConnection

from shared.redis_conn import Lua

INCR_BY = Lua("return redis.call('INCRBY', KEYS[1], ARGV[1])")


def test_on_a_client_it_runs_by_sha_and_loads_itself_when_redis_lost_it(
    redis_db: redis.Redis,
) -> None:
    redis_db.script_flush()
    assert INCR_BY(redis_db, ["counter"], [2]) == 2  # not known yet: sent with its text
    assert INCR_BY(redis_db, ["counter"], [3]) == 5  # known now: by its SHA1
    assert redis_db.script_exists(INCR_BY.sha) == [True]
    redis_db.script_flush()  # as after a restart of Redis
    assert INCR_BY(redis_db, ["counter"], [1]) == 6


def test_in_a_pipeline_it_costs_no_extra_round_trip(
    redis_db: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[bytes] = []
    original = AbstractConnection.send_packed_command

    def send(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        sent.append(b"".join(command) if isinstance(command, list) else bytes(command))
        original(self, command, check_health)

    pipe = redis_db.pipeline(transaction=False)
    pipe.set("other", "x")
    INCR_BY(pipe, ["counter"], [4])
    INCR_BY(pipe, ["counter"], [1])
    with monkeypatch.context() as patch:
        patch.setattr(AbstractConnection, "send_packed_command", send)
        assert pipe.execute() == [True, 4, 5]
    # one round trip; redis-py's registered scripts ask SCRIPT EXISTS first, every time
    assert len(sent) == 1, sent
    assert b"SCRIPT" not in sent[0]
    assert sent[0].count(b"EVAL") == 2
