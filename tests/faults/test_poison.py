"""A poison item: copy whose parse kills the ingest worker (SIGKILL, like a crash in C code;
injected by ``hooks/sitecustomize.py``, test-only). The worker is restarted each time (as
``syndicate up`` does), the item is quarantined after ``SYNDICATE_INGEST_MAX_RUNS`` runs that
never finished, and the copy around it goes through."""

from __future__ import annotations

from tests.faults.conftest import POISON_MARKER, Rig
from tests.faults.harness import Load, under_load, wire_copy
from tests.support.waiting import wait_for


def test_a_poison_item_is_quarantined(rig_idle: Rig) -> None:
    rig = rig_idle
    poison: dict[str, str] = {}
    restarts = rig.keeper.restarts["ingest"]

    def post_poison(load: Load) -> str:
        body, _ = wire_copy("poison", 0, marker=f" {POISON_MARKER}")
        response = rig.service.post_wire(body)
        assert response.status_code == 202, response.text
        poison["id"] = response.json()["id"]

        def quarantined() -> bool:
            return rig.service.wire_status(poison["id"]).get("status") == "quarantined"

        wait_for(quarantined, timeout=120, interval=0.5, message="the poison item quarantined")
        deaths = rig.keeper.restarts["ingest"] - restarts
        return f"a poison item {poison['id']}; the ingest worker died on it {deaths} times"

    _, report = under_load(rig.service, rig.client, rig.subscribers, post_poison)
    assert report.problems == []
    assert report.stories == report.wires
    item = rig.service.wire_status(poison["id"])
    assert "SYNDICATE_INGEST_MAX_RUNS" in str(item["error"])
    listed = rig.service.get("/v1/quarantine").json()["items"]
    assert poison["id"] in {entry["id"] for entry in listed}
    assert rig.keeper.restarts["ingest"] - restarts == 3, "one death per run allowed"
    print(f"counted: {poison['id']} quarantined: {item['error']}")
