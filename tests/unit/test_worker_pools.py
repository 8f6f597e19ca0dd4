"""Process and pool settings: what `syndicate up` starts and how each worker pools its work."""

from __future__ import annotations

from services.cli import worker_pool
from services.supervisor import Supervisor
from shared.settings import Settings


def test_defaults_keep_one_solo_ingest_and_sixteen_publish_threads() -> None:
    settings = Settings()
    assert worker_pool("ingest", settings) == ("solo", 1)
    assert worker_pool("render", settings) == ("solo", 1)
    assert worker_pool("publish", settings) == ("threads", 16)


def test_ingest_concurrency_above_one_is_a_prefork_pool_and_publish_threads_follow_settings() -> (
    None
):
    settings = Settings(ingest_concurrency=3, publish_concurrency=8)
    assert worker_pool("ingest", settings) == ("prefork", 3)
    assert worker_pool("publish", settings) == ("threads", 8)


def test_up_starts_the_publish_workers_and_api_workers_it_is_told() -> None:
    children = Supervisor(Settings(publish_workers=2, api_workers=3)).children
    names = [c.name for c in children]
    assert names.count("worker-publish") + names.count("worker-publish-2") == 2
    assert sum(c.argv[-2:] == ["worker", "publish"] for c in children) == 2
    api = next(c for c in children if c.name == "api")
    assert api.argv[-2:] == ["--workers", "3"]
    assert [c.name for c in Supervisor(Settings()).children].count("worker-publish") == 1
