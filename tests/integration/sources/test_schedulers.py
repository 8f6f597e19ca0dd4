"""Two schedulers poll each source once per interval, not once each; the schedule lives in Redis
and survives the schedulers: kill one, the other carries on; kill both, start a fresh one, and
polling resumes where the schedule says.

Its own topology on Redis DB 10 (reserved for the sources tests): the API and two scheduler
processes, no workers (what the polls take waits in the ingest queue; only the polls count).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from shared import keys
from shared.redis_server import RedisServer
from tests.conftest import redis_url
from tests.support.service import Service
from tests.support.upstream import Answer, Hit, Upstream, rss
from tests.support.waiting import wait_for

DB_SCHEDULERS = 10
INTERVAL = 2
SOURCES = 4


@pytest.fixture
def schedulers(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    url = redis_url(redis_server, DB_SCHEDULERS)
    redis.Redis.from_url(url).flushdb()
    service = Service(
        redis_url=url,
        data_dir=tmp_path_factory.mktemp("schedulers"),
        env_extra={"SYNDICATE_SOURCE_TIMEOUT_SECONDS": "3"},
    )
    try:
        service.start("api")
        wait_for(lambda: _answers(f"{service.base_url}/healthz"), timeout=60, message="the API")
        for n in (1, 2):
            start_scheduler(service, n)
        yield service
    finally:
        service.stop()
        redis.Redis.from_url(url).flushdb()


def start_scheduler(service: Service, n: int) -> None:
    """Each beat needs a schedule file of its own; the source poller shares Redis."""
    data_dir = Path(service.data_dir) / f"scheduler-{n}"
    data_dir.mkdir(exist_ok=True)
    service.start(f"scheduler#{n}", SYNDICATE_DATA_DIR=str(data_dir))


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def between_polls(client: redis.Redis) -> None:
    """Wait for a moment when no scheduler holds a poll."""
    wait_for(
        lambda: not any(True for _ in client.scan_iter(keys.source_poll_lock("*"))),
        timeout=30,
        interval=0.01,
        message="no poll in flight",
    )


def gaps(hits: list[Hit]) -> list[float]:
    return [later.at - earlier.at for earlier, later in itertools.pairwise(hits)]


def polls_in_log(service: Service, name: str) -> int:
    path = service.log_path(name)
    return path.read_text(errors="replace").count(" polled: ") if path.exists() else 0


def test_two_schedulers_poll_each_source_once_per_interval(
    schedulers: Service, upstream: Upstream
) -> None:
    body = rss([("s-1", "Tugs stand by as the fog lifts")])

    def answer(hit: Hit) -> Answer:
        if hit.header("If-None-Match") == '"same"':
            return Answer(304, {"ETag": '"same"'})
        return Answer(200, {"ETag": '"same"', "Content-Type": "application/rss+xml"}, body)

    paths = [f"/feed-{n}" for n in range(SOURCES)]
    ids = []
    for path in paths:
        made = requests.post(
            f"{schedulers.base_url}/v1/sources",
            json={"name": path, "url": upstream.serve(path, answer), "interval_seconds": INTERVAL},
            headers=schedulers.auth(),
            timeout=10,
        )
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])

    def polled(count: int) -> bool:
        return all(len(upstream.hits_of(path)) >= count for path in paths)

    started = time.monotonic()
    wait_for(lambda: polled(6), timeout=60, interval=0.2, message="six polls of each source")
    elapsed = time.monotonic() - started
    for path in paths:
        hits = upstream.hits_of(path)
        assert min(gaps(hits)) >= INTERVAL - 0.05, f"{path} polled twice within an interval"
        assert len(hits) <= elapsed / INTERVAL + 2, f"{path} polled more than once per interval"
    assert polls_in_log(schedulers, "scheduler#1") and polls_in_log(schedulers, "scheduler#2"), (
        "both schedulers took part"
    )

    # one scheduler dies: the other carries on alone, still once per interval. (Killed between
    # polls: a poll cut short keeps its claim for a lease, 2 × 3 + 15 s here, and is then
    # polled again by whoever is left: slower than this test wants to wait.)
    client = redis.Redis.from_url(schedulers.redis_url)
    between_polls(client)
    schedulers.kill("scheduler#1")
    before = {path: len(upstream.hits_of(path)) for path in paths}
    wait_for(
        lambda: all(len(upstream.hits_of(p)) >= before[p] + 3 for p in paths),
        timeout=60,
        interval=0.2,
        message="polls after one scheduler died",
    )

    # both die: the schedule stays in Redis; a new scheduler resumes it
    between_polls(client)
    schedulers.kill("scheduler#2")
    assert sorted(m.decode() for m in client.zrange(keys.sources_due(), 0, -1)) == sorted(ids)
    stopped = {path: len(upstream.hits_of(path)) for path in paths}
    start_scheduler(schedulers, 3)
    wait_for(
        lambda: all(len(upstream.hits_of(p)) >= stopped[p] + 2 for p in paths),
        timeout=60,
        interval=0.2,
        message="polls after a fresh scheduler started",
    )
    for path in paths:
        assert min(gaps(upstream.hits_of(path))) >= INTERVAL - 0.05
    client.close()
