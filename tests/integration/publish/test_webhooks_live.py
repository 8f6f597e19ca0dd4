"""Webhooks on the real service: worker processes, the scheduler, real receivers on loopback.

Events are handed to publish by task name, as ingest does (``tests.support.events``), so each
test decides which story versions exist and in which order their events arrive.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime

import requests
from standardwebhooks.webhooks import Webhook

from services.publish.deliveries import delivery_id_for
from shared import publish_events
from tests.integration.publish.conftest import (
    MAX_IN_FLIGHT_QUICK,
    deliveries_of,
    subscription,
)
from tests.support.events import Injector, make_story, unique
from tests.support.receiver import Received, Receiver
from tests.support.service import Service
from tests.support.waiting import wait_for


def failing_first(times: int) -> tuple[Receiver, Counter[str]]:
    """A receiver that answers 500 to the first ``times`` requests of each event, then 200."""
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def respond(got: Received) -> tuple[int, bytes]:
        with lock:
            seen[got.headers["webhook-id"]] += 1
            count = seen[got.headers["webhook-id"]]
        return (500, b"not now") if count <= times else (200, b"thanks")

    return Receiver(respond=respond), seen


def lowered(request: Received) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


def test_failing_three_times_then_succeeding_gets_the_event_once(
    publish_service: Service,
    injector: Injector,
    receivers: list[Receiver],
    subscriptions: list[str],
) -> None:
    receiver, _ = failing_first(3)
    receivers.append(receiver.start())
    sub = publish_service.subscribe(receiver.url)
    subscriptions.append(str(sub["id"]))
    began = datetime.now(UTC).replace(microsecond=0)
    event = injector.publish(make_story(unique("st_")))
    delivery_id = delivery_id_for(event.id, str(sub["id"]))

    def succeeded() -> dict[str, object] | None:
        for item in deliveries_of(publish_service, str(sub["id"])):
            if item["id"] == delivery_id and item["state"] == "succeeded":
                return item
        return None

    done = wait_for(succeeded, timeout=60, message="the delivery to succeed on attempt 4")
    got = receiver.snapshot()
    assert [r.headers["webhook-id"] for r in got] == [event.id] * 4
    for request in got:  # every attempt is signed, and verifies with the independent library
        verified = Webhook(str(sub["secret"])).verify(request.body, lowered(request))
        assert verified["data"]["id"] == event.story_id
    assert len({r.body for r in got}) == 1, "the same bytes on every attempt"
    statuses = [a["status_code"] for a in done["attempts"]]  # type: ignore[union-attr]
    assert statuses == [500, 500, 500, 200]
    ats = [datetime.fromisoformat(a["at"]) for a in done["attempts"]]  # type: ignore[union-attr]
    assert ats == sorted(ats) and began <= ats[0] and ats[-1] <= datetime.now(UTC)
    for attempt, at in zip(done["attempts"], ats, strict=True):  # type: ignore[call-overload]
        assert attempt["webhook_timestamp"] == int(at.timestamp()), "signed when attempted"
    assert sum(1 for a in done["attempts"] if a["status_code"] == 200) == 1  # type: ignore[union-attr]


def test_410_gone_disables_the_subscription(
    publish_service: Service,
    injector: Injector,
    receivers: list[Receiver],
    subscriptions: list[str],
) -> None:
    gone = Receiver(statuses=[410]).start()
    sentinel = Receiver().start()
    receivers.extend([gone, sentinel])
    sub = publish_service.subscribe(gone.url)
    other = publish_service.subscribe(sentinel.url)
    subscriptions.extend([str(sub["id"]), str(other["id"])])
    injector.publish(make_story(unique("st_")))

    disabled = wait_for(
        lambda: (s := subscription(publish_service, str(sub["id"])))["disabled"] and s,
        timeout=30,
        message="the subscription to be disabled",
    )
    assert "410 Gone" in str(disabled["disabled_reason"])
    second = injector.publish(make_story(unique("st_")))
    wait_for(
        lambda: any(r.headers["webhook-id"] == second.id for r in sentinel.snapshot()),
        timeout=30,
        message="the other subscription to get the next event",
    )
    assert len(gone.snapshot()) == 1, "nothing more was sent to the gone endpoint"
    assert len(deliveries_of(publish_service, str(sub["id"]))) == 1


def test_a_dead_letter_replays_through_the_api_and_the_cli(
    publish_service: Service,
    injector: Injector,
    receivers: list[Receiver],
    subscriptions: list[str],
) -> None:
    receiver, _ = failing_first(4)  # as many as the schedule's attempts
    receivers.append(receiver.start())
    sub = publish_service.subscribe(receiver.url)
    subscriptions.append(str(sub["id"]))
    events = [injector.publish(make_story(unique("st_"))) for _ in range(2)]
    ids = [delivery_id_for(e.id, str(sub["id"])) for e in events]

    def states() -> dict[str, str]:
        return {
            str(d["id"]): str(d["state"]) for d in deliveries_of(publish_service, str(sub["id"]))
        }

    wait_for(
        lambda: all(states().get(i) == "dead" for i in ids), timeout=60, message="dead letters"
    )
    dead = requests.get(
        f"{publish_service.base_url}/v1/deliveries?state=dead&limit=500",
        headers=publish_service.auth(),
        timeout=10,
    ).json()
    assert set(ids) <= {d["id"] for d in dead["items"]}

    replayed = requests.post(
        f"{publish_service.base_url}/v1/deliveries/{ids[0]}/replay",
        headers=publish_service.auth(),
        timeout=10,
    )
    assert replayed.status_code == 202, replayed.text
    cli = subprocess.run(
        [sys.executable, "-m", "services.cli", "deliveries", "replay", ids[1]],
        env={**os.environ, **publish_service.env()},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    assert f"{ids[1]}: replaying" in cli.stdout
    wait_for(
        lambda: all(states().get(i) == "succeeded" for i in ids),
        timeout=60,
        message="both replays to succeed",
    )
    for event in events:
        mine = [r for r in receiver.snapshot() if r.headers["webhook-id"] == event.id]
        assert len(mine) == 5, "four failed attempts, then the replay"
        Webhook(str(sub["secret"])).verify(mine[-1].body, lowered(mine[-1]))


def test_an_update_never_arrives_before_the_version_it_updates(
    publish_service: Service,
    injector: Injector,
    receivers: list[Receiver],
    subscriptions: list[str],
) -> None:
    receiver, _ = failing_first(2)
    receivers.append(receiver.start())
    sub = publish_service.subscribe(
        receiver.url,
        events=["story.published", "story.updated", "story.killed"],
        filter={"sections": ["Science"]},
    )
    subscriptions.append(str(sub["id"]))
    story_id = unique("st_")
    v1 = injector.store_version(make_story(story_id, 1), "story.published")
    v2 = injector.store_version(make_story(story_id, 2, section="Politics"), "story.updated")
    v3 = injector.store_version(
        make_story(story_id, 3, section="Politics", status="withdrawn"), "story.killed"
    )
    for event in (v3, v2, v1):  # the events arrive in the worst order
        injector.story_event(event)

    def first_success(event_id: str) -> int | None:
        seen = 0
        for index, request in enumerate(receiver.snapshot()):
            if request.headers["webhook-id"] == event_id:
                seen += 1
                if seen == 3:  # failing_first(2): the third request succeeds
                    return index
        return None

    wait_for(lambda: first_success(v3.id) is not None, timeout=60, message="the kill to arrive")
    order = [r.headers["webhook-id"] for r in receiver.snapshot()]
    assert order == [v1.id] * 3 + [v2.id] * 3 + [v3.id] * 3, order
    versions = [json.loads(r.body)["data"]["version"] for r in receiver.snapshot()]
    assert versions == [1, 1, 1, 2, 2, 2, 3, 3, 3]


def test_a_fast_subscriber_is_not_slowed_by_a_hanging_one(
    publish_service: Service,
    injector: Injector,
    receivers: list[Receiver],
    subscriptions: list[str],
) -> None:
    release = threading.Event()
    lock = threading.Lock()
    now_open = 0
    most_open = 0

    def hang(_got: Received) -> tuple[int, bytes]:
        nonlocal now_open, most_open
        with lock:
            now_open += 1
            most_open = max(most_open, now_open)
        release.wait(55)  # shorter than the service's read timeout: it is still waiting
        with lock:
            now_open -= 1
        return 200, b"late"

    slow = Receiver(respond=hang).start()
    fast = Receiver().start()
    receivers.extend([slow, fast])
    try:
        hanging = publish_service.subscribe(slow.url)  # first: its deliveries are queued first
        quick = publish_service.subscribe(fast.url)
        subscriptions.extend([str(hanging["id"]), str(quick["id"])])
        events = [injector.publish(make_story(unique("st_"))) for _ in range(20)]
        wanted = {e.id for e in events}

        def fast_got_all() -> bool:
            return wanted <= {r.headers["webhook-id"] for r in fast.snapshot()}

        # the publish worker has 16 threads: without a per-subscription cap the 20 hanging
        # deliveries would take them all and the fast subscriber would get nothing until the
        # read timeout (60 s), longer than this wait
        wait_for(fast_got_all, timeout=45, message="the fast subscriber to get all 20 events")
        with lock:
            # a partner that starts to hang takes the quick limit at most (before its oldest
            # attempt is old enough to count as slow), then nothing more
            assert 1 <= most_open <= MAX_IN_FLIGHT_QUICK, most_open
    finally:
        release.set()
    wait_for(
        lambda: wanted <= {r.headers["webhook-id"] for r in slow.snapshot()},
        timeout=60,
        message="the slow subscriber to get every event in the end",
    )
    assert most_open <= MAX_IN_FLIGHT_QUICK


def test_the_broker_handing_a_long_attempt_out_again_sends_nothing_twice(
    publish_service: Service,
    injector: Injector,
    receivers: list[Receiver],
    subscriptions: list[str],
) -> None:
    """The service's visibility timeout is 3 s: a task that takes longer is handed to a second
    worker thread by the broker while the first is still in it. The first attempt is made
    inside the fan-out task (``inline.py``), so the broker hands that task out again: its
    second run finds the event fanned out and makes nothing (and a ``deliver`` handed out
    meanwhile finds the delivery busy)."""
    release = threading.Event()

    def slow(_got: Received) -> tuple[int, bytes]:
        release.wait(50)
        return 200, b"ok"

    receiver = Receiver(respond=slow).start()
    receivers.append(receiver)
    sub = publish_service.subscribe(receiver.url)
    subscriptions.append(str(sub["id"]))
    event = injector.publish(make_story(unique("st_")))
    delivery_id = delivery_id_for(event.id, str(sub["id"]))
    try:
        wait_for(lambda: receiver.snapshot(), timeout=30, message="the attempt to start")
        log = publish_service.log_path("publish")
        again = (f"delivery {delivery_id} busy", f"event {event.id} (story.published): 0 deliv")
        wait_for(
            lambda: log.exists() and any(line in log.read_text(errors="replace") for line in again),
            timeout=40,
            interval=0.1,
            message="the broker to hand the fan-out (or a deliver task) out again",
        )
    finally:
        release.set()
    wait_for(
        lambda: any(
            d["id"] == delivery_id and d["state"] == "succeeded"
            for d in deliveries_of(publish_service, str(sub["id"]))
        ),
        timeout=30,
        message="the delivery to succeed",
    )
    assert len(receiver.snapshot()) == 1


def test_feed_updated_webhooks_follow_the_feeds_filter(
    publish_service: Service,
    injector: Injector,
    receivers: list[Receiver],
    subscriptions: list[str],
) -> None:
    wanted, other = Receiver().start(), Receiver().start()
    receivers.extend([wanted, other])
    name = unique("feed-")
    sub = publish_service.subscribe(wanted.url, events=["feed.updated"], filter={"feeds": [name]})
    not_this = publish_service.subscribe(
        other.url, events=["feed.updated"], filter={"feeds": ["something-else"]}
    )
    subscriptions.extend([str(sub["id"]), str(not_this["id"])])
    update = injector.feed(
        publish_service.base_url, name, "rss", b"<rss>x</rss>", "application/rss+xml"
    )
    got = wait_for(lambda: wanted.snapshot(), timeout=30, message="the feed.updated webhook")[0]
    body = Webhook(str(sub["secret"])).verify(got.body, lowered(got))
    assert body["type"] == "feed.updated" and got.headers["webhook-id"] == update.id
    assert body["data"] == {"feed": name, "urls": update.urls, "etags": update.etags}
    assert deliveries_of(publish_service, str(not_this["id"])) == []
    assert other.snapshot() == []


def _ids_received(receiver: Receiver, wanted: set[str]) -> list[str]:
    return [
        r.headers["webhook-id"] for r in receiver.snapshot() if r.headers["webhook-id"] in wanted
    ]


def _drainers_idle(injector: Injector) -> bool:
    client = injector.client
    return publish_events.waiting(client) == 0 and publish_events.running(client, 2) == []


def test_story_events_handed_over_in_a_backlog_reach_every_subscriber_once(
    publish_service: Service,
    injector: Injector,
    receivers: list[Receiver],
    subscriptions: list[str],
) -> None:
    """Forty events at once (as a busy ingest hands them over): both drainer slots are woken,
    each takes batches, and every subscriber gets every event exactly once; then the drainers
    stand down."""
    hooks = [Receiver().start() for _ in range(2)]
    receivers.extend(hooks)
    for hook in hooks:
        subscriptions.append(str(publish_service.subscribe(hook.url)["id"]))
    handed = [
        injector.store_version(make_story(unique("st_")), "story.published") for _ in range(40)
    ]
    wanted = {event.id for event in handed}

    injector.hand_over(handed)

    for hook in hooks:

        def all_in(h: Receiver = hook) -> bool:
            return set(_ids_received(h, wanted)) == wanted

        wait_for(all_in, timeout=60, message="every event at every subscriber")
        assert sorted(_ids_received(hook, wanted)) == sorted(wanted), "each event once"
    wait_for(lambda: _drainers_idle(injector), timeout=30, message="the drainers to stand down")


def test_events_whose_drainer_was_never_woken_still_go_out(
    publish_service: Service,
    injector: Injector,
    receivers: list[Receiver],
    subscriptions: list[str],
) -> None:
    """The wake-up message is lost (or its drainer killed before it took anything): the slot's
    flag runs out and the scheduler's drain_due wakes it."""
    hook = Receiver().start()
    receivers.append(hook)
    subscriptions.append(str(publish_service.subscribe(hook.url)["id"]))
    wait_for(lambda: _drainers_idle(injector), timeout=30, message="no drainer running")
    event = injector.store_version(make_story(unique("st_")), "story.published")

    injector.hand_over([event], wake=False)  # flagged, but no drain_events message

    wait_for(lambda: _ids_received(hook, {event.id}), timeout=30, message="the event, late")
    wait_for(lambda: _drainers_idle(injector), timeout=30, message="the drainer to stand down")
