"""JSON logs of the real processes: one object per line, and every line about a story or an
event carries its id (the ids travel in the log context, not in each message)."""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from shared.redis_server import RedisServer
from tests.conftest import DB_OBSERVABILITY, redis_url
from tests.support.receiver import Receiver
from tests.support.service import Service, running
from tests.support.waiting import wait_for

FIELDS = {"ts", "level", "logger", "msg", "process", "pid"}


@pytest.fixture(scope="module")
def json_service(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    with running(
        redis_url(redis_server, DB_OBSERVABILITY),
        tmp_path_factory.mktemp("json-logs"),
        SYNDICATE_LOG_FORMAT="json",
        SYNDICATE_WEBHOOK_RETRY_SCHEDULE="0,0.2",
    ) as service:
        yield service


def records(service: Service, part: str) -> list[dict[str, Any]]:
    """Every line a part has written so far, each of which must be one JSON object."""
    found = []
    for number, line in enumerate(service.log_path(part).read_text().splitlines(), 1):
        if not line.strip():
            continue
        record = json.loads(line)  # a line that is not JSON fails here, with its text
        assert isinstance(record, dict) and set(record) >= FIELDS, (part, number, line)
        found.append(record)
    return found


def copy(tag: str) -> bytes:
    return (
        f"Lighthouse Keepers {tag} Log A Record Count Of Passing Whales\n\n"
        f"HALIFAX, June 3 (Reuters) - Keepers on the outer islands counted more whales "
        f"passing this spring than in any year since their log began ({tag}).\n\n"
        "(Reporting by Ana Lima; Editing by Cy Dore)\n"
    ).encode()


def test_lines_about_a_story_or_an_event_carry_its_ids(json_service: Service) -> None:
    service = json_service
    good, failing = Receiver().start(), Receiver(statuses=[500, 500]).start()
    try:
        service.subscribe(good.url)
        service.subscribe(failing.url)
        accepted = service.post_wire(copy(uuid.uuid4().hex[:8]), "text/x-wire")
        assert accepted.status_code == 202, accepted.text
        wire_id = str(accepted.json()["id"])
        wait_for(lambda: good.requests, message="the webhook")
        wait_for(lambda: len(failing.requests) >= 2, message="both attempts of the failing one")
        (story_id,) = service.wire_status(wire_id)["story_ids"]  # type: ignore[misc]
        event_id = good.requests[0].headers["webhook-id"]

        def logged() -> dict[str, list[dict[str, Any]]] | None:
            found = {part: records(service, part) for part in ("ingest", "render", "publish")}
            attempts = [r for r in found["publish"] if "attempt 2" in r["msg"]]
            return found if attempts else None

        logs = wait_for(logged, message="the second attempt logged")
    finally:
        good.stop()
        failing.stop()

    # the API and the scheduler write JSON too, under their own role
    assert {r["process"] for r in records(service, "api")} == {"api"}
    assert {r["process"] for r in records(service, "scheduler")} == {"scheduler"}
    assert any(r["logger"] == "uvicorn.access" for r in records(service, "api"))
    for part, lines in logs.items():
        assert {r["process"] for r in lines} == {f"worker-{part}"}
        for record in lines:
            # a line that names the story or the event carries its id as a field
            if story_id in record["msg"]:
                assert record.get("story_id") == story_id, (part, record)
            if event_id in record["msg"]:
                assert record.get("event_id") == event_id, (part, record)

    def about(part: str, **ids: str) -> list[dict[str, Any]]:
        return [r for r in logs[part] if all(r.get(k) == v for k, v in ids.items())]

    stored = about("ingest", story_id=story_id, event_id=event_id, wire_id=wire_id)
    assert any(r["msg"].endswith(": new (text)") for r in stored), logs["ingest"]
    assert all(r.get("task_id") for r in stored)
    assert about("render", story_id=story_id, event_id=event_id)
    # every attempt of every delivery of the event: both subscriptions, three attempts
    attempts = [r for r in about("publish", event_id=event_id) if " attempt " in r["msg"]]
    assert len(attempts) == 3, attempts
    assert all(r.get("delivery_id") and r.get("subscription_id") for r in attempts)
    assert all(r["story_id"] == story_id for r in attempts)
    assert len({r["delivery_id"] for r in attempts}) == 2
    assert all(r.get("delivery_id") is None for r in about("ingest"))
    # the ids of one task never leak into the next task's lines
    other_tasks = [r for r in logs["ingest"] if r.get("wire_id") not in (None, wire_id)]
    assert other_tasks == []


def test_a_worker_stopped_says_so_in_json_too(json_service: Service) -> None:
    """Celery prints its shutdown notice from the signal handler, past logging: in JSON mode
    that line is JSON like the rest."""
    json_service.kill("render", signal.SIGTERM)  # a warm shutdown, waited for
    try:
        lines = records(json_service, "render")  # every line JSON, the last ones included
        notices = [r for r in lines if "Warm shutdown" in r["msg"]]
        assert notices, lines[-5:]
        assert notices[-1]["process"] == "worker-render"
        assert notices[-1]["logger"] == "celery.apps.worker"
    finally:
        json_service.start("render")
