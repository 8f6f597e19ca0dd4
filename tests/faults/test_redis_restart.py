"""Redis stopped and started again (same port, same data dir, AOF) under steady load: copy
answered 202 before or after is all parsed, in its feeds and delivered; the API answers 503 (not
202) while Redis is away; nothing is stuck afterwards."""

from __future__ import annotations

from tests.faults.conftest import Rig
from tests.faults.harness import Load, under_load
from tests.support.waiting import wait_for


def test_redis_stopped_and_restarted(rig_idle: Rig) -> None:
    rig = rig_idle

    def restart_redis(load: Load) -> str:
        before = load.refused_total()
        rig.redis.stop()
        wait_for(
            lambda: load.refused_total() >= before + 25,
            timeout=30,
            message="posts refused while Redis is down",
        )
        refused = load.refused_total() - before
        rig.redis.start()
        return f"Redis stopped ({refused} posts refused meanwhile), then started from its AOF"

    load, report = under_load(
        rig.service, rig.client, rig.subscribers, restart_redis, settle_timeout=120
    )
    assert report.problems == []
    assert set(load.refused) <= {"503", "ConnectionError", "ReadTimeout"}, load.refused
    assert report.stories == report.wires
