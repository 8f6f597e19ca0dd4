"""End to end on the real service: real Redis, real worker processes, real HTTP on loopback."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import feedparser
import pytest
from standardwebhooks.webhooks import Webhook

from tests.support.receiver import Receiver
from tests.support.service import Service
from tests.support.waiting import wait_for


def sample_copy(tag: str) -> bytes:
    """Wire copy the test writes itself, unique per test so tests never see each other's stories."""
    return (
        "Coastal Courier\n"
        "Environment\n\n"
        f"Volunteers Count {tag} Seabirds On Cliffs After Record Nesting Season\n\n"
        f"Volunteers Count {tag} Seabirds On Cliffs After Record Nesting Season\n"
        "A puffin stands on a cliff edge in Latrabjarg, Iceland, June 2, 2026. Eva Holm/Pool via REUTERS\n\n"
        "Volunteers say the colony grew for a third year running.\n\n"
        "REYKJAVIK, June 3 (Reuters) — Volunteers counted more seabirds on the western cliffs "
        "this year than in any season since records began, the survey group said on Wednesday.\n\n"
        "The group said warmer water had brought more sand eels close to the shore.\n\n"
        "(Reporting by Reuters; writing by Ana Lima; editing by Cy Dore)\n\n"
        "Help us improve.\n\n"
        "Related Articles\n"
    ).encode()


@pytest.fixture
def subscriber(live_service: Service) -> Iterator[tuple[Receiver, dict[str, object]]]:
    receiver = Receiver().start()
    sub = live_service.subscribe(receiver.url, events=["story.published", "story.updated"])
    yield receiver, sub
    live_service.unsubscribe(str(sub["id"]))
    receiver.stop()


def feed_titles(service: Service, fmt: str) -> list[str]:
    parsed = feedparser.parse(service.get(f"/feeds/all.{fmt}").content)
    assert parsed.bozo == 0
    return [entry.title for entry in parsed.entries]


def test_copy_reaches_the_feeds_and_a_signed_webhook(
    live_service: Service, subscriber: tuple[Receiver, dict[str, object]]
) -> None:
    receiver, sub = subscriber
    tag = uuid.uuid4().hex[:8]
    headline = f"Volunteers Count {tag} Seabirds On Cliffs After Record Nesting Season"
    accepted = live_service.post_wire(sample_copy(tag))
    assert accepted.status_code == 202, accepted.text
    wire_id = accepted.json()["id"]

    wait_for(
        lambda: headline in feed_titles(live_service, "rss"), timeout=30, message="the RSS entry"
    )
    assert headline in feed_titles(live_service, "atom")

    def webhook() -> dict[str, object] | None:
        for request in receiver.snapshot():
            body = json.loads(request.body)
            if body["data"].get("headline") == headline:
                return {"headers": request.headers, "raw": request.body, "body": body}
        return None

    got = wait_for(webhook, timeout=30, message="the webhook")
    headers = {k.lower(): v for k, v in dict(got["headers"]).items()}  # type: ignore[arg-type]
    verified = Webhook(str(sub["secret"])).verify(got["raw"], headers)  # type: ignore[arg-type]
    assert verified["type"] == "story.published"
    data = verified["data"]
    assert data["publisher"] == "Coastal Courier"
    assert data["section"] == "Environment"
    assert data["dateline"] == {"place": "REYKJAVIK", "date": "2026-06-03", "agency": "Reuters"}
    assert data["credit_line"] == "Reporting by Reuters; Writing by Ana Lima; Editing by Cy Dore"
    assert headers["webhook-id"].startswith("evt_")

    status = live_service.wire_status(wire_id)
    assert status["status"] == "parsed"
    story_id = status["story_ids"][0]  # type: ignore[index]
    story = live_service.get(f"/v1/stories/{story_id}").json()
    assert story["headline"] == headline and story["version"] == 1
    listed = live_service.get("/v1/stories", params={"section": "environment", "limit": 50}).json()
    assert story_id in [s["id"] for s in listed["items"]]


def test_same_idempotency_key_creates_nothing_new(live_service: Service) -> None:
    tag = uuid.uuid4().hex[:8]
    key = f"idem-{tag}"
    first = live_service.post_wire(sample_copy(tag), **{"Idempotency-Key": key})
    second = live_service.post_wire(sample_copy(tag), **{"Idempotency-Key": key})
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]


def test_the_same_copy_twice_is_one_story_and_one_event(
    live_service: Service, subscriber: tuple[Receiver, dict[str, object]]
) -> None:
    receiver, _ = subscriber
    tag = uuid.uuid4().hex[:8]
    first = live_service.post_wire(sample_copy(tag)).json()["id"]
    wait_for(
        lambda: live_service.wire_status(first)["status"] == "parsed", timeout=30, message="parse"
    )
    second = live_service.post_wire(sample_copy(tag)).json()["id"]
    wait_for(
        lambda: live_service.wire_status(second)["status"] == "duplicate",
        timeout=30,
        message="dedupe",
    )
    assert (
        live_service.wire_status(first)["story_ids"]
        == live_service.wire_status(second)["story_ids"]
    )
    wait_for(
        lambda: any(tag.encode() in b for b in receiver.bodies()), timeout=30, message="webhook"
    )
    assert sum(tag.encode() in b for b in receiver.bodies()) == 1


def test_changed_copy_is_an_update_with_a_second_version(
    live_service: Service, subscriber: tuple[Receiver, dict[str, object]]
) -> None:
    receiver, _ = subscriber
    tag = uuid.uuid4().hex[:8]
    first = live_service.post_wire(sample_copy(tag)).json()["id"]
    wait_for(
        lambda: live_service.wire_status(first)["status"] == "parsed", timeout=30, message="parse"
    )
    changed = sample_copy(tag).replace(b"more sand eels", b"many more sand eels")
    second = live_service.post_wire(changed).json()["id"]
    wait_for(
        lambda: live_service.wire_status(second)["status"] == "parsed", timeout=30, message="update"
    )
    story_id = live_service.wire_status(second)["story_ids"][0]  # type: ignore[index]
    versions = live_service.get(f"/v1/stories/{story_id}/versions").json()["items"]
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["first_published"] == versions[1]["first_published"]

    def types() -> list[str]:
        return [json.loads(b)["type"] for b in receiver.bodies() if tag.encode() in b]

    wait_for(lambda: len(types()) == 2, timeout=30, message="two webhooks")
    assert types() == ["story.published", "story.updated"]


def test_unparseable_copy_is_quarantined_with_its_error(live_service: Service) -> None:
    accepted = live_service.post_wire(b"<?xml version='1.0'?><unknown-root/>", "application/xml")
    wire_id = accepted.json()["id"]
    wait_for(
        lambda: live_service.wire_status(wire_id)["status"] == "quarantined",
        timeout=30,
        message="quarantine",
    )
    listed = live_service.get("/v1/quarantine").json()
    entry = next(item for item in listed["items"] if item["id"] == wire_id)
    assert entry["error"]["type"] == "parse-error" and entry["error"]["detail"]


def test_the_service_is_ready_with_every_worker(live_service: Service) -> None:
    ready = live_service.get("/readyz").json()
    assert ready["status"] == "ready"
    assert all(count >= 1 for count in ready["checks"]["workers"].values())
