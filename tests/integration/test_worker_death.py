"""A worker killed with SIGKILL mid-task loses nothing: the task is handed out again (acks late,
reject on worker lost, visibility timeout) and the story still reaches the feed."""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import Iterator

import feedparser
import pytest
import redis

from shared import keys, names
from shared.redis_server import RedisServer
from tests.conftest import DB_FAULTS, redis_url
from tests.integration.test_end_to_end import sample_copy
from tests.support.service import Service
from tests.support.waiting import wait_for


@pytest.fixture
def fault_service(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    url = redis_url(redis_server, DB_FAULTS)
    redis.Redis.from_url(url).flushdb()
    service = Service(redis_url=url, data_dir=tmp_path_factory.mktemp("faults"))
    try:
        yield service
    finally:
        service.stop()


def test_ingest_worker_killed_mid_task(fault_service: Service) -> None:
    service = fault_service
    for part in ("api", "render", "publish", "scheduler"):
        service.start(part)
    service.start("ingest#slow", SYNDICATE_DEBUG_TASK_DELAY_SECONDS="60")
    service.wait_ready()
    client = redis.Redis.from_url(service.redis_url)

    tag = uuid.uuid4().hex[:8]
    assert service.post_wire(sample_copy(tag)).status_code == 202
    unacked = f"{keys.celery_prefix()}unacked"

    def ingest_in_flight() -> bool:
        """The ingest task itself (not any other) taken by the worker and not yet acked."""
        for raw in client.hvals(unacked):
            message = json.loads(raw)[0]
            if message.get("headers", {}).get("task") == names.TASK_INGEST_WIRE:
                return True
        return False

    wait_for(ingest_in_flight, timeout=20, message="the ingest task to be in flight")
    print(f"injected: SIGKILL to the ingest worker with {client.hlen(unacked)} task(s) in flight")
    service.kill("ingest#slow", signal.SIGKILL)
    service.start("ingest")

    def in_feed() -> bool:
        parsed = feedparser.parse(service.get("/feeds/all.rss").content)
        return any(tag in entry.title for entry in parsed.entries)

    wait_for(
        in_feed, timeout=60, interval=0.2, message="the story to reach the feed after the kill"
    )
    wait_for(lambda: client.hlen(unacked) == 0, timeout=30, message="nothing left in flight")
