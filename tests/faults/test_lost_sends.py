"""The ingest task message of every third item the API stores is lost (never written to the
queue, though the copy and its outbox entry are; injected by ``hooks/sitecustomize.py`` in the
API process only): every copy answered 202 is parsed all the same, through the scheduler's
outbox sweeper."""

from __future__ import annotations

import signal

from tests.faults.conftest import Rig
from tests.faults.harness import Load, under_load
from tests.support.waiting import wait_for

EVERY = 3


def test_ingest_tasks_lost_after_the_copy_was_stored(rig_idle: Rig) -> None:
    rig = rig_idle
    rig.service.kill("api", signal.SIGTERM)
    rig.service.start("api", FAULTS_LOSE_INGEST_SENDS=str(EVERY))
    rig.service.wait_ready()
    lost = len(rig.service.log_path("api").read_text().split("the ingest task of")) - 1
    try:

        def some_lost(load: Load) -> str:
            def lost_now() -> int:
                text = rig.service.log_path("api").read_text(errors="replace")
                return len(text.split("the ingest task of")) - 1 - lost

            wait_for(lambda: lost_now() >= 10, timeout=30, message="ten ingest tasks lost")
            return f"the API lost the ingest task of every {EVERY}rd item ({lost_now()} so far)"

        _, report = under_load(rig.service, rig.client, rig.subscribers, some_lost)
    finally:
        rig.service.kill("api", signal.SIGTERM)
        rig.service.start("api")
        rig.service.wait_ready()
    assert report.problems == []
    assert report.stories == report.wires
