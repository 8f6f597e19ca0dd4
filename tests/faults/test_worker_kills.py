"""A worker of each queue killed with SIGKILL (holding a task when one can be caught) and
started again, under steady load: nothing accepted is lost, nothing is stuck."""

from __future__ import annotations

import json
import signal

import redis

from shared import keys, names
from tests.faults.conftest import Rig
from tests.faults.harness import Load, under_load
from tests.support.waiting import wait_for


def holding(client: redis.Redis, queue: str) -> bool:
    """A task of ``queue`` is taken by a worker and not yet acknowledged."""
    for raw in client.hvals(f"{keys.celery_prefix()}unacked"):
        task = json.loads(raw)[0].get("headers", {}).get("task", "")
        try:
            if names.queue_of(task) == queue:
                return True
        except ValueError:
            continue
    return False


def test_a_worker_of_each_queue_killed_and_restarted(rig_idle: Rig) -> None:
    rig = rig_idle
    caught: dict[str, bool] = {}

    def kill_each(load: Load) -> str:
        for queue in (names.QUEUE_INGEST, names.QUEUE_RENDER, names.QUEUE_PUBLISH):
            try:
                wait_for(lambda q=queue: holding(rig.client, q), timeout=5, interval=0.01)
                caught[queue] = True
            except AssertionError:
                caught[queue] = False  # idle at that moment: killed all the same
            rig.service.kill(queue, signal.SIGKILL)
            mark = load.count()
            wait_for(lambda m=mark: load.count() >= m + 10, timeout=30, message="load goes on")
            rig.service.start(queue)
        return "SIGKILL to the ingest, render and publish workers in turn, each restarted; " + (
            ", ".join(f"{q} {'held a task' if c else 'was idle'}" for q, c in caught.items())
        )

    _, report = under_load(rig.service, rig.client, rig.subscribers, kill_each)
    assert report.problems == []
    assert report.wires >= 50 and report.stories == report.wires
