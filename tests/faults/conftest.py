"""The fault tier: one service for the whole tier (API, a worker per queue, the scheduler, as
processes) on its **own** redis-server (AOF on), since a test stops and restarts Redis; the
session's server is never touched. Each test injects one fault under steady load and checks the
invariants of ``harness`` for the copy it was answered ``202`` for."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from shared.redis_server import RedisServer
from tests.faults.harness import Keeper, Subscribers, stuck
from tests.support.service import Service
from tests.support.waiting import wait_for

HOOKS = Path(__file__).parent / "hooks"
POISON_MARKER = "FAULT-TIER-POISON-7f3c"


@dataclass
class Rig:
    redis: RedisServer
    service: Service
    client: redis.Redis
    keeper: Keeper
    subscribers: Subscribers


@pytest.fixture(scope="package")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    server = RedisServer(data_dir=tmp_path_factory.mktemp("faults-redis")).start()
    pythonpath = os.pathsep.join(p for p in (str(HOOKS), os.environ.get("PYTHONPATH")) if p)
    service = Service(
        redis_url=server.url,
        data_dir=tmp_path_factory.mktemp("faults-service"),
        env_extra={
            "PYTHONPATH": pythonpath,
            "FAULTS_POISON_MARKER": POISON_MARKER,
            "SYNDICATE_VISIBILITY_TIMEOUT": "6",
            "SYNDICATE_INGEST_OUTBOX_SECONDS": "5",
            "SYNDICATE_INGEST_MAX_RUNS": "3",
            # about 40 s of retries: longer than a subscriber is down in these tests
            "SYNDICATE_WEBHOOK_RETRY_SCHEDULE": "0,1,2,3,3,3,3,3,3,3,3,3,3,3",
            # a hand-out lost with Redis or a worker comes due again this soon (default 60 s)
            "SYNDICATE_WEBHOOK_SAFETY_NET_SECONDS": "5",
            "SYNDICATE_LOG_LEVEL": "INFO",
        },
    )
    client = redis.Redis.from_url(server.url)
    keeper = Keeper(service)
    subscribers = Subscribers(service)
    try:
        service.start_all()
        keeper.start()
        subscribers.start()
        yield Rig(server, service, client, keeper, subscribers)
    except BaseException:
        print(service.logs())
        raise
    finally:
        keeper.stop()
        service.stop()
        subscribers.stop()
        client.close()
        server.stop()


@pytest.fixture
def rig_idle(rig: Rig) -> Rig:
    """The rig, with nothing left over from the test before (each test starts idle)."""
    wait_for(lambda: not stuck(rig.client), timeout=60, interval=0.5, message="an idle service")
    rig.service.wait_ready()
    return rig
