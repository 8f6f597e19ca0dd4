"""A webhook subscriber down for a while (its port refuses connections) and back: every event
reaches it once it is back (retries on the durable schedule), the other subscriber is not held
up, and no event comes under two ids."""

from __future__ import annotations

from tests.faults.conftest import Rig
from tests.faults.harness import Load, under_load
from tests.support.waiting import wait_for


def test_a_subscriber_down_for_a_while(rig_idle: Rig) -> None:
    rig = rig_idle

    def subscriber_down(load: Load) -> str:
        rig.subscribers.take_down(0)
        mark = load.count()
        wait_for(lambda: load.count() >= mark + 100, timeout=60, message="load while it is down")
        rig.subscribers.bring_back(0)
        return f"subscriber 0 down while {load.count() - mark} items were accepted, then back"

    _, report = under_load(rig.service, rig.client, rig.subscribers, subscriber_down)
    assert report.problems == []
    assert report.deliveries[0] >= report.events and report.deliveries[1] >= report.events
