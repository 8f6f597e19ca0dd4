"""The broker settings that make a worker's death lose nothing (issue #2): acks late, reject on
worker lost, one message prefetched, restores within the visibility timeout, every Syndicate task
routed to its own queue."""

from __future__ import annotations

import pytest

from shared import keys, names
from shared.celery_app import celery_config, route_task
from shared.settings import Settings


@pytest.fixture
def config(settings_env: pytest.MonkeyPatch) -> dict[str, object]:
    settings_env.setenv("SYNDICATE_REDIS_URL", "redis://127.0.0.1:1/3")
    settings_env.setenv("SYNDICATE_VISIBILITY_TIMEOUT", "40")
    return celery_config(Settings())


def test_tasks_survive_a_dead_worker(config: dict[str, object]) -> None:
    assert config["task_acks_late"] is True
    assert config["task_reject_on_worker_lost"] is True
    assert config["worker_prefetch_multiplier"] == 1
    assert config["broker_url"] == "redis://127.0.0.1:1/3"
    options = config["broker_transport_options"]
    assert isinstance(options, dict)
    assert options["visibility_timeout"] == 40
    assert options["global_keyprefix"] == keys.celery_prefix()
    # abandoned messages are looked for often enough to come back within about the timeout
    assert options["unacked_restore_interval"] * options.get("unacked_restore_throttle", 1) <= 10


def test_every_task_name_routes_to_its_queue() -> None:
    for name in (v for k, v in vars(names).items() if k.startswith("TASK_")):
        assert route_task(name) == {"queue": names.queue_of(name)}
    assert route_task("celery.chord_unlock") is None
