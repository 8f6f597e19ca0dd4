"""The task messages ``shared.broker`` writes are the ones Celery's ``send_task`` writes."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from celery import Celery

from shared import broker, keys, names

EVENT = {"id": "evt_1", "story_id": "sto_1", "type": "story.published", "version": 1}


def _decode(raw: bytes) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(raw)
    return message


def test_the_envelope_carries_what_celery_protocol_2_carries() -> None:
    message = _decode(broker.envelope(names.TASK_RENDER_ON_EVENT, [EVENT], task_id="t-1"))
    celery = Celery("check").amqp.as_task_v2("t-1", names.TASK_RENDER_ON_EVENT, args=[EVENT])
    # the headers a worker reads, value for value (origin: the sending process, same form)
    assert set(message["headers"]) == set(celery.headers)
    for name, value in celery.headers.items():
        if name not in ("origin", "ignore_result"):  # the sender; "not set" (None or False)
            assert message["headers"][name] == value, name
    assert not message["headers"]["ignore_result"]
    assert message["headers"]["origin"].startswith("gen")
    # the body: [args, kwargs, embed], JSON, base64 as kombu's Redis transport keeps it
    body = json.loads(base64.b64decode(message["body"]))
    assert body == json.loads(json.dumps(list(celery.body)))
    assert message["content-type"] == "application/json"
    assert message["content-encoding"] == "utf-8"
    properties = message["properties"]
    assert properties["correlation_id"] == "t-1"
    assert properties["body_encoding"] == "base64"
    assert properties["delivery_info"] == {"exchange": "", "routing_key": "render"}
    assert properties["priority"] == 0 and properties["delivery_mode"] == 2


def test_each_message_has_its_own_ids() -> None:
    one = _decode(broker.envelope(names.TASK_PUBLISH_DELIVER, ["dlv_1"]))
    two = _decode(broker.envelope(names.TASK_PUBLISH_DELIVER, ["dlv_1"]))
    assert one["headers"]["id"] != two["headers"]["id"]
    assert one["properties"]["delivery_tag"] != two["properties"]["delivery_tag"]
    assert one["headers"]["root_id"] == one["headers"]["id"]


def test_a_long_argument_list_is_shortened_in_its_repr_only() -> None:
    big = "x" * 5000
    message = _decode(broker.envelope(names.TASK_INGEST_WIRE, [big]))
    assert len(message["headers"]["argsrepr"]) == broker.ARGSREPR_MAX
    assert json.loads(base64.b64decode(message["body"]))[0] == [big]


class _Pipe:
    def __init__(self) -> None:
        self.pushed: list[tuple[str, bytes]] = []

    def lpush(self, key: str, value: bytes) -> None:
        self.pushed.append((key, value))


def test_messages_go_to_the_list_of_their_tasks_queue_in_order() -> None:
    pipe = _Pipe()
    broker.add_many(
        pipe,
        [(names.TASK_RENDER_ON_EVENT, [EVENT]), (names.TASK_PUBLISH_ON_EVENT, [EVENT])],
    )
    assert [key for key, _ in pipe.pushed] == [
        keys.celery_queue("render"),
        keys.celery_queue("publish"),
    ]
    tasks = [_decode(raw)["headers"]["task"] for _, raw in pipe.pushed]
    assert tasks == [names.TASK_RENDER_ON_EVENT, names.TASK_PUBLISH_ON_EVENT]


def test_a_name_that_is_not_ours_is_refused() -> None:
    with pytest.raises(ValueError, match="not a Syndicate task name"):
        broker.envelope("celery.backend_cleanup", [])
