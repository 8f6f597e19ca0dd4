"""Pending retries survive a publish worker killed with SIGKILL and a Redis restart.

Its own redis-server (data dir, AOF on, no RDB), since Redis itself is restarted: every event's
first attempt fails, and while the retries wait in the due-time schedule the publish worker is
killed and Redis is stopped and started again from its append-only file. A new worker then
delivers every event.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from services.publish.deliveries import delivery_id_for
from shared import keys
from shared.redis_server import RedisServer
from tests.integration.publish.conftest import deliveries_of
from tests.integration.publish.test_webhooks_live import failing_first, lowered
from tests.support.events import Injector, make_story, unique
from tests.support.service import Service
from tests.support.waiting import wait_for

EVENTS = 5
SECOND_ATTEMPT_AFTER = 8  # seconds: long enough that no retry is in flight at the kill


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(data_dir=tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


def publish_ready(service: Service) -> bool:
    try:
        ready = requests.get(f"{service.base_url}/readyz", timeout=2).json()
    except requests.RequestException:
        return False
    return bool(ready.get("checks", {}).get("workers", {}).get("publish"))


def test_pending_retries_survive_a_killed_worker_and_a_redis_restart(
    own_redis: RedisServer, tmp_path: Path
) -> None:
    service = Service(
        redis_url=own_redis.url,
        data_dir=tmp_path / "service",
        env_extra={"SYNDICATE_WEBHOOK_RETRY_SCHEDULE": f"0,{SECOND_ATTEMPT_AFTER},1,1"},
    )
    receiver, _ = failing_first(1)
    receiver.start()
    injector = Injector(own_redis.url)
    try:
        for part in ("api", "publish", "scheduler"):
            service.start(part)
        wait_for(lambda: publish_ready(service), timeout=60, message="a publish worker")
        sub = service.subscribe(receiver.url)
        sub_id = str(sub["id"])
        events = [injector.publish(make_story(unique("st_"))) for _ in range(EVENTS)]
        ids = {delivery_id_for(e.id, sub_id) for e in events}

        def first_attempts_failed() -> bool:
            found = deliveries_of(service, sub_id)
            return len(found) == EVENTS and all(
                d["state"] == "pending" and len(d["attempts"]) == 1  # type: ignore[arg-type]
                for d in found
            )

        wait_for(first_attempts_failed, timeout=30, message="every first attempt to fail")
        print(f"injected: SIGKILL to the publish worker with {EVENTS} retries pending")
        service.kill("publish", signal.SIGKILL)
        print("injected: Redis stopped and started again from its append-only file")
        injector.close()
        own_redis.stop()
        own_redis.start()
        client = redis.Redis.from_url(own_redis.url)
        due = {m.decode() for m in client.zrange(keys.deliveries_due(), 0, -1)}
        assert ids <= due, "every pending retry is still in the schedule"
        client.close()

        service.start("publish")

        def all_delivered() -> bool:
            found = deliveries_of(service, sub_id)
            return len(found) == EVENTS and all(d["state"] == "succeeded" for d in found)

        wait_for(all_delivered, timeout=90, interval=0.2, message="every event delivered")
    except AssertionError:
        print(service.logs())
        raise
    finally:
        service.stop()
        receiver.stop()
    got = receiver.snapshot()
    for event in events:
        mine = [r for r in got if r.headers["webhook-id"] == event.id]
        assert len(mine) == 2, "the failed first attempt, then one retry after the restart"
        assert lowered(mine[1])["webhook-timestamp"] != lowered(mine[0])["webhook-timestamp"]
