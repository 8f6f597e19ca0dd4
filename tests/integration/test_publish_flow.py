"""The delivery state machine in-process, step by step: real Redis, real receivers on loopback,
the clock passed in (no workers, no scheduler: each test makes the attempts itself)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from standardwebhooks.webhooks import Webhook

from services.publish import attempts, chains, fanout, schedule, store
from services.publish.signing import new_secret
from shared import keys
from shared.ids import random_id
from shared.models import Event, EventType, Subscription, SubscriptionFilter
from shared.settings import Settings, get_settings
from tests.support.events import event_for, make_story
from tests.support.receiver import Receiver

T0 = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(autouse=True)
def _fresh_clock() -> None:
    """Each test's clock starts now: signatures made at T0 must still be fresh for verifiers
    (Standard Webhooks refuses timestamps older than five minutes) however long the suite runs."""
    global T0
    T0 = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def settings(redis_db: redis.Redis, settings_env: pytest.MonkeyPatch) -> Settings:
    settings_env.setenv("SYNDICATE_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")
    settings_env.setenv("SYNDICATE_WEBHOOK_RETRY_SCHEDULE", "0,5,5")
    settings_env.setenv("SYNDICATE_WEBHOOK_READ_TIMEOUT", "5")
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    got = Receiver().start()
    yield got
    got.stop()


def subscribe(
    client: redis.Redis,
    url: str,
    events: tuple[EventType, ...] = ("story.published", "story.updated", "story.killed"),
    **fields: object,
) -> Subscription:
    sub = Subscription(
        id=random_id("sub"),
        url=url,
        events=list(events),
        secret=new_secret(),
        created_at=T0,
        **fields,  # type: ignore[arg-type]
    )
    store.save_subscription(client, sub)
    return sub


def version(
    client: redis.Redis, story_id: str, number: int, kind: EventType, **kw: object
) -> Event:
    story = make_story(story_id, number, **kw)  # type: ignore[arg-type]
    event = event_for(story, kind)
    from shared import stories

    stories.save_event(client, event)
    stories.save_version(client, story)
    return event


def one_delivery(client: redis.Redis, story_id: str) -> str:
    """Publish version 1 of a story and fan it out to the one subscription there is."""
    (d,) = fanout.story_event(
        client, version(client, story_id, 1, "story.published"), T0
    ).deliveries
    return d


def types_received(receiver: Receiver) -> list[tuple[str, int]]:
    out = []
    for request in receiver.snapshot():
        body = json.loads(request.body)
        out.append((body["type"], body["data"]["version"]))
    return out


def test_fanout_makes_one_delivery_per_matching_subscription_once(
    redis_db: redis.Redis, settings: Settings, receiver: Receiver
) -> None:
    science = subscribe(redis_db, receiver.url, filter=SubscriptionFilter(sections=["Science"]))
    subscribe(redis_db, receiver.url, filter=SubscriptionFilter(sections=["Sport"]))
    event = version(redis_db, "st_a", 1, "story.published")
    first = fanout.story_event(redis_db, event, T0)
    assert len(first.deliveries) == 1
    delivery = store.get_delivery(redis_db, first.deliveries[0])
    assert delivery is not None and delivery.subscription_id == science.id
    assert schedule.due_at(redis_db, delivery.id) == (T0 + fanout.SAFETY_NET).timestamp()
    again = fanout.story_event(redis_db, event, T0 + timedelta(seconds=1))
    assert again.deliveries == [], "a redelivered fan-out makes nothing new"
    assert redis_db.zcard(keys.subscription_deliveries(science.id)) == 1


def test_a_later_version_waits_until_the_earlier_delivery_settles(
    redis_db: redis.Redis, settings: Settings, receiver: Receiver
) -> None:
    receiver.statuses = [500]  # v1's first attempt fails
    subscribe(redis_db, receiver.url)
    v1 = fanout.story_event(redis_db, version(redis_db, "st_b", 1, "story.published"), T0)
    v2 = fanout.story_event(redis_db, version(redis_db, "st_b", 2, "story.updated"), T0)
    (d1,), (d2,) = v1.deliveries, v2.deliveries
    assert store.get_delivery(redis_db, d2).after == d1  # type: ignore[union-attr]

    assert attempts.run(redis_db, d1, T0, settings).status == "retry"
    waiting = attempts.run(redis_db, d2, T0, settings)
    assert waiting.status == f"waiting for {d1}"
    assert len(receiver.snapshot()) == 1, "the update was not sent before the story"
    assert schedule.due_at(redis_db, d2) == (T0 + attempts.WAIT_POLL).timestamp()

    later = T0 + timedelta(seconds=6)
    settled = attempts.run(redis_db, d1, later, settings)
    assert settled.status == "succeeded" and settled.wake == (d2,)
    assert attempts.run(redis_db, d2, later, settings).status == "succeeded"
    assert types_received(receiver) == [
        ("story.published", 1),
        ("story.published", 1),
        ("story.updated", 2),
    ]


def test_an_update_whose_story_has_not_fanned_out_yet_is_parked(
    redis_db: redis.Redis, settings: Settings, receiver: Receiver
) -> None:
    subscribe(redis_db, receiver.url)
    e1 = version(redis_db, "st_c", 1, "story.published")
    e2 = version(redis_db, "st_c", 2, "story.updated")
    early = fanout.story_event(redis_db, e2, T0)
    assert early.waiting and early.deliveries == []
    assert redis_db.zscore(keys.fanouts_due(), e2.id) is not None
    assert schedule.take_due_fanouts(redis_db, T0 + timedelta(seconds=2), 30) == [e2.id]

    (d1,) = fanout.story_event(redis_db, e1, T0).deliveries
    (d2,) = fanout.story_event(redis_db, e2, T0 + timedelta(seconds=2)).deliveries
    assert store.get_delivery(redis_db, d2).after == d1  # type: ignore[union-attr]
    assert redis_db.zscore(keys.fanouts_due(), e2.id) is None
    assert chains.next_of(redis_db, d1) == d2


def test_updates_and_kills_reach_every_subscription_sent_the_story(
    redis_db: redis.Redis, settings: Settings, receiver: Receiver
) -> None:
    was_science = subscribe(redis_db, receiver.url, filter=SubscriptionFilter(sections=["Science"]))
    politics = subscribe(redis_db, receiver.url, filter=SubscriptionFilter(sections=["Politics"]))
    only_published = subscribe(
        redis_db,
        receiver.url,
        events=("story.published",),
        filter=SubscriptionFilter(sections=["Science"]),
    )
    fanout.story_event(redis_db, version(redis_db, "st_e", 1, "story.published"), T0)
    moved = version(redis_db, "st_e", 2, "story.updated", section="Politics")
    updated = fanout.story_event(redis_db, moved, T0)
    got = {store.get_delivery(redis_db, d).subscription_id for d in updated.deliveries}  # type: ignore[union-attr]
    assert got == {was_science.id, politics.id}, "sent before, and matching now"
    killed = fanout.story_event(
        redis_db, version(redis_db, "st_e", 3, "story.killed", section="Politics"), T0
    )
    got = {store.get_delivery(redis_db, d).subscription_id for d in killed.deliveries}  # type: ignore[union-attr]
    assert got == {was_science.id, politics.id}
    assert only_published.id not in got


def test_a_dead_letter_replays_with_the_same_webhook_id(
    redis_db: redis.Redis, settings: Settings, receiver: Receiver
) -> None:
    from services.publish.replay import replay

    receiver.statuses = [500, 502, 503]
    sub = subscribe(redis_db, receiver.url)
    event = version(redis_db, "st_f", 1, "story.published")
    (d,) = fanout.story_event(redis_db, event, T0).deliveries
    verdicts = [
        attempts.run(redis_db, d, T0 + timedelta(seconds=6 * i), settings).status for i in range(3)
    ]
    assert verdicts == ["retry", "retry", "dead"]
    dead = store.get_delivery(redis_db, d)
    assert dead is not None and dead.state == "dead" and "3 attempts" in (dead.reason or "")
    assert redis_db.zscore(keys.deliveries_dead(), d) is not None
    assert schedule.due_at(redis_db, d) is None

    later = T0 + timedelta(seconds=30)
    again = replay(redis_db, d, later, 30)
    assert again.state == "pending" and again.schedule_start == 3 and again.replays == 1
    assert redis_db.zscore(keys.deliveries_dead(), d) is None
    assert attempts.run(redis_db, d, later, settings).status == "succeeded"
    requests_ = receiver.snapshot()
    assert [r.headers["webhook-id"] for r in requests_] == [event.id] * 4
    assert len({r.headers["webhook-timestamp"] for r in requests_}) == 4, "signed afresh"
    last = requests_[-1]
    Webhook(sub.secret).verify(last.body, {k.lower(): v for k, v in last.headers.items()})
    final = store.get_delivery(redis_db, d)
    assert final is not None and [a.status_code for a in final.attempts] == [500, 502, 503, 200]


def test_replay_refuses_a_pending_delivery_and_an_unknown_one(
    redis_db: redis.Redis, settings: Settings, receiver: Receiver
) -> None:
    from services.publish.replay import replay
    from shared.errors import Conflict, NotFound

    subscribe(redis_db, receiver.url)
    (d,) = fanout.story_event(
        redis_db, version(redis_db, "st_g", 1, "story.published"), T0
    ).deliveries
    with pytest.raises(Conflict, match="still pending"):
        replay(redis_db, d, T0, 30)
    with pytest.raises(NotFound):
        replay(redis_db, "dlv_nope", T0, 30)


def test_410_disables_at_once_and_its_other_deliveries_are_not_sent(
    redis_db: redis.Redis, settings: Settings, receiver: Receiver
) -> None:
    receiver.statuses = [410]
    sub = subscribe(redis_db, receiver.url)
    (d1,) = fanout.story_event(
        redis_db, version(redis_db, "st_h", 1, "story.published"), T0
    ).deliveries
    (d2,) = fanout.story_event(
        redis_db, version(redis_db, "st_i", 1, "story.published"), T0
    ).deliveries
    assert attempts.run(redis_db, d1, T0, settings).status == "gone"
    disabled = store.get_subscription(redis_db, sub.id)
    assert disabled is not None and disabled.disabled
    assert "410 Gone" in (disabled.disabled_reason or "")
    assert store.get_delivery(redis_db, d1).state == "failed"  # type: ignore[union-attr]
    assert attempts.run(redis_db, d2, T0, settings).status == "failed"
    stopped = store.get_delivery(redis_db, d2)
    assert stopped is not None and "disabled" in (stopped.reason or "")
    assert len(receiver.snapshot()) == 1


def test_a_subscription_failing_for_the_set_time_is_disabled(
    redis_db: redis.Redis, settings: Settings, receiver: Receiver
) -> None:
    receiver.statuses = [500, 500]
    sub = subscribe(redis_db, receiver.url)
    (d,) = fanout.story_event(
        redis_db, version(redis_db, "st_j", 1, "story.published"), T0
    ).deliveries
    store.note_failure(redis_db, sub.id, T0 - timedelta(days=5))
    assert attempts.run(redis_db, d, T0, settings).status == "retry"
    disabled = store.get_subscription(redis_db, sub.id)
    assert disabled is not None and disabled.disabled
    assert "SYNDICATE_WEBHOOK_DISABLE_AFTER_SECONDS" in (disabled.disabled_reason or "")


def test_a_success_ends_the_run_of_failures(
    redis_db: redis.Redis, settings: Settings, receiver: Receiver
) -> None:
    receiver.statuses = [500]
    sub = subscribe(redis_db, receiver.url)
    (d,) = fanout.story_event(
        redis_db, version(redis_db, "st_k", 1, "story.published"), T0
    ).deliveries
    attempts.run(redis_db, d, T0, settings)
    assert store.failing_since(redis_db, sub.id) is not None
    attempts.run(redis_db, d, T0 + timedelta(seconds=6), settings)
    assert store.failing_since(redis_db, sub.id) is None


@pytest.mark.parametrize(
    ("host", "words"),
    [
        ("127.0.0.1", ["127.0.0.0/8", "loopback"]),
        ("localhost", ["loopback"]),
        ("10.0.0.1", ["10.0.0.0/8", "private network"]),
        ("169.254.169.254", ["169.254.169.254/32", "cloud metadata address"]),
    ],
)
def test_ssrf_targets_are_refused_at_delivery_with_the_reason(
    redis_db: redis.Redis,
    settings_env: pytest.MonkeyPatch,
    receiver: Receiver,
    host: str,
    words: list[str],
) -> None:
    # no allowlist here; the subscription was accepted when its name resolved elsewhere
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.webhook_allowed_networks == []
    port = receiver.url.split(":")[2].split("/")[0]
    sub = subscribe(redis_db, f"https://{host}:{port}/hook")
    (d,) = fanout.story_event(
        redis_db, version(redis_db, f"st_{host}", 1, "story.published"), T0
    ).deliveries
    assert attempts.run(redis_db, d, T0, settings).status == "retry"
    delivery = store.get_delivery(redis_db, d)
    assert delivery is not None
    error = delivery.attempts[0].error or ""
    assert error.startswith("refused by the SSRF guard")
    for word in [*words, "SYNDICATE_WEBHOOK_ALLOWED_NETWORKS"]:
        assert word in error, (word, error)
    assert delivery.attempts[0].status_code is None
    assert receiver.snapshot() == [], "no request went out"
    assert store.get_subscription(redis_db, sub.id) is not None


def test_plain_http_is_refused_outside_the_allowed_networks(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch
) -> None:
    from services.publish.attempts import send
    from services.publish.channels import Outbound

    sent = send(Outbound("http://93.184.215.14/hook", b"{}"), get_settings())
    assert sent.error is not None and "SYNDICATE_WEBHOOK_ALLOW_HTTP" in sent.error


def test_in_flight_slots_cap_a_subscription_and_free_themselves(
    redis_db: redis.Redis, settings: Settings
) -> None:
    take = schedule.acquire_slot
    assert take(redis_db, "sub_x", "d1", T0, 30, 2)
    assert take(redis_db, "sub_x", "d2", T0, 30, 2)
    assert not take(redis_db, "sub_x", "d3", T0, 30, 2)
    assert take(redis_db, "sub_x", "d1", T0, 30, 2), "a holder may take its own slot again"
    assert take(redis_db, "sub_y", "d9", T0, 30, 2), "other subscriptions are not affected"
    assert take(redis_db, "sub_x", "d3", T0 + timedelta(seconds=31), 30, 2), "leases end"
    schedule.release_slot(redis_db, "sub_x", "d3")
    assert schedule.in_flight(redis_db, "sub_x", T0 + timedelta(seconds=31)) == 0


def test_a_quick_partner_gets_the_quick_limit_and_a_slow_one_the_base_limit(
    redis_db: redis.Redis, settings: Settings
) -> None:
    """Past ``limit``, slots are given up to ``quick_limit`` only while the oldest attempt in
    flight began under ``slow_seconds`` ago: a partner that hangs stops getting them."""

    def take(delivery: str, at: datetime) -> bool:
        return bool(
            schedule.acquire_slot(
                redis_db, "sub_q", delivery, at, 30, 2, quick_limit=4, slow_seconds=1.0
            )
        )

    assert take("d1", T0) and take("d2", T0)  # the base limit
    assert take("d3", T0 + timedelta(seconds=0.5)), "young attempts: past the base limit"
    assert take("d4", T0 + timedelta(seconds=0.9))
    assert not take("d5", T0 + timedelta(seconds=0.9)), "never past the quick limit"
    schedule.release_slot(redis_db, "sub_q", "d4")
    # d1 and d2 have been in flight for 1.5 s: the partner is slow, the base limit holds
    assert not take("d5", T0 + timedelta(seconds=1.5))
    schedule.release_slot(redis_db, "sub_q", "d1")
    assert not take("d5", T0 + timedelta(seconds=1.5)), "still two in flight, one of them old"
    schedule.release_slot(redis_db, "sub_q", "d2")
    assert take("d5", T0 + timedelta(seconds=1.5)), "d3 is the oldest now, begun 1 s ago"
    assert not take("d6", T0 + timedelta(seconds=1.6)), "d3 has been in flight 1.1 s"
    assert take("d3", T0 + timedelta(seconds=1.6)), "a holder may take its own slot again"
    # with no quick limit (or one under the base limit) the base limit is all there is
    for n in range(2):
        assert schedule.acquire_slot(redis_db, "sub_r", f"r{n}", T0, 30, 2, quick_limit=1)
    assert not schedule.acquire_slot(redis_db, "sub_r", "r2", T0, 30, 2, quick_limit=1)
    assert not schedule.acquire_slot(redis_db, "sub_r", "r2", T0, 30, 2)


def test_a_healthy_webhook_subscription_asks_for_the_quick_limit_a_failing_one_for_one(
    redis_db: redis.Redis, settings: Settings, receiver: Receiver
) -> None:
    from services.publish.channels import CHANNELS, Outbound

    sub = subscribe(redis_db, receiver.url)
    delivery = store.get_delivery(redis_db, one_delivery(redis_db, "st_q"))
    assert delivery is not None
    channel = CHANNELS[delivery.channel]
    (healthy,) = channel.prepare_many(redis_db, [delivery], T0, settings)
    assert isinstance(healthy, Outbound)
    assert (healthy.slots, healthy.quick_slots) == (
        settings.webhook_max_in_flight,
        settings.webhook_max_in_flight_quick,
    )
    store.note_failure(redis_db, sub.id, T0)
    (failing,) = channel.prepare_many(redis_db, [delivery], T0, settings)
    assert isinstance(failing, Outbound)
    assert (failing.slots, failing.quick_slots) == (1, 1)


def test_a_slot_taken_ends_the_wait_for_one(redis_db: redis.Redis, settings: Settings) -> None:
    later = T0 + timedelta(seconds=5)
    assert schedule.acquire_slot(redis_db, "sub_w", "h1", T0, 30, 1)
    assert not schedule.acquire_slot(redis_db, "sub_w", "d1", T0, 30, 1, look_again=later)
    assert schedule.due_at(redis_db, "d1") == later.timestamp(), "due again to look"
    assert redis_db.zscore(keys.deliveries_waiting("sub_w"), "d1") == T0.timestamp()
    schedule.release_slot(redis_db, "sub_w", "h1")
    assert schedule.acquire_slot(redis_db, "sub_w", "d1", T0, 30, 1, look_again=later)
    assert schedule.pop_waiter(redis_db, "sub_w") is None, "it waits no more"


def test_a_delivery_finding_every_slot_taken_waits_and_is_woken(
    redis_db: redis.Redis, settings: Settings, receiver: Receiver
) -> None:
    sub = subscribe(redis_db, receiver.url)
    d = one_delivery(redis_db, "st_l")
    begun = T0 - timedelta(seconds=settings.webhook_slow_answer_seconds + 1)
    for holder in ("h1", "h2", "h3", "h4"):  # in flight for a while: a slow partner
        lease = attempts.attempt_lease(settings)  # every attempt's slot has this lease
        assert schedule.acquire_slot(redis_db, sub.id, holder, begun, lease, 4)
    assert attempts.run(redis_db, d, T0, settings).status == "waiting for a slot"
    assert receiver.snapshot() == []
    assert schedule.due_at(redis_db, d) == (T0 + attempts.SLOT_POLL).timestamp()
    schedule.release_slot(redis_db, sub.id, "h1")
    assert schedule.pop_waiter(redis_db, sub.id) == d
    assert attempts.run(redis_db, d, T0, settings).status == "succeeded"


def test_a_failing_subscription_gets_one_attempt_in_flight(
    redis_db: redis.Redis, settings: Settings, receiver: Receiver
) -> None:
    sub = subscribe(redis_db, receiver.url)
    (d,) = fanout.story_event(
        redis_db, version(redis_db, "st_m", 1, "story.published"), T0
    ).deliveries
    store.note_failure(redis_db, sub.id, T0)
    assert schedule.acquire_slot(redis_db, sub.id, "probe", T0, 60, 4)
    assert attempts.run(redis_db, d, T0, settings).status == "waiting for a slot"


def test_claimed_due_deliveries_stay_scheduled_until_their_attempt(
    redis_db: redis.Redis, settings: Settings
) -> None:
    schedule.schedule(redis_db, "dlv_1", T0)
    schedule.schedule(redis_db, "dlv_2", T0 + timedelta(seconds=10))
    assert schedule.take_due(redis_db, T0, lease_seconds=40) == ["dlv_1"]
    assert schedule.due_at(redis_db, "dlv_1") == (T0 + timedelta(seconds=40)).timestamp()
    assert schedule.take_due(redis_db, T0 + timedelta(seconds=1), lease_seconds=40) == []
    lost = schedule.take_due(redis_db, T0 + timedelta(seconds=41), lease_seconds=40)
    assert sorted(lost) == ["dlv_1", "dlv_2"], "a hand-out that was lost comes due again"


def test_a_busy_delivery_is_looked_at_again(
    redis_db: redis.Redis, settings: Settings, receiver: Receiver
) -> None:
    subscribe(redis_db, receiver.url)
    (d,) = fanout.story_event(
        redis_db, version(redis_db, "st_n", 1, "story.published"), T0
    ).deliveries
    schedule.unschedule(redis_db, d)
    held = schedule.lock(redis_db, d, 30)
    assert held.acquire()
    try:
        assert attempts.run(redis_db, d, T0, settings).status == "busy"
    finally:
        held.release()
    assert schedule.due_at(redis_db, d) == (T0 + attempts.BUSY_POKE).timestamp()
    assert receiver.snapshot() == []


def test_redirects_are_not_followed(
    redis_db: redis.Redis, settings: Settings, receiver: Receiver
) -> None:
    elsewhere = Receiver().start()
    try:
        receiver.statuses = [307]
        receiver.extra_headers = {"Location": elsewhere.url}
        subscribe(redis_db, receiver.url)
        (d,) = fanout.story_event(
            redis_db, version(redis_db, "st_redir", 1, "story.published"), T0
        ).deliveries
        assert attempts.run(redis_db, d, T0, settings).status == "retry"
        delivery = store.get_delivery(redis_db, d)
        assert delivery is not None and delivery.attempts[0].status_code == 307
        assert delivery.attempts[0].error == "HTTP 307"
        assert elsewhere.snapshot() == []
    finally:
        elsewhere.stop()


def test_a_huge_answer_is_cut_short_and_an_excerpt_kept(
    redis_db: redis.Redis, settings: Settings, receiver: Receiver
) -> None:
    receiver.respond = lambda _got: (200, b"y" * (2 * 1024 * 1024))
    subscribe(redis_db, receiver.url)
    (d,) = fanout.story_event(
        redis_db, version(redis_db, "st_big", 1, "story.published"), T0
    ).deliveries
    assert attempts.run(redis_db, d, T0, settings).status == "succeeded"
    delivery = store.get_delivery(redis_db, d)
    assert delivery is not None
    assert delivery.attempts[0].response_excerpt == "y" * attempts.EXCERPT_BYTES


def test_retry_after_sets_the_next_attempt_within_the_schedule(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    settings_env.setenv("SYNDICATE_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")
    settings_env.setenv("SYNDICATE_WEBHOOK_RETRY_SCHEDULE", "0,5,60")
    get_settings.cache_clear()
    receiver.statuses = [503, 429]
    receiver.extra_headers = {"Retry-After": "30"}
    subscribe(redis_db, receiver.url)
    (d,) = fanout.story_event(
        redis_db, version(redis_db, "st_ra", 1, "story.published"), T0
    ).deliveries
    attempts.run(redis_db, d, T0, get_settings())
    first = store.get_delivery(redis_db, d)
    assert first is not None and first.next_attempt_at is not None
    waited = (first.next_attempt_at - T0).total_seconds()
    assert 30 <= waited < 31, "Retry-After honoured (the schedule said about 5 s)"
    receiver.extra_headers = {"Retry-After": "99999"}
    later = first.next_attempt_at
    attempts.run(redis_db, d, later, get_settings())
    second = store.get_delivery(redis_db, d)
    assert second is not None and second.next_attempt_at is not None
    assert 60 <= (second.next_attempt_at - later).total_seconds() < 61, "clamped to the longest"


def test_a_story_event_s_body_is_made_once_and_again_from_other_stored_bytes(
    redis_db: redis.Redis, settings: Settings, receiver: Receiver
) -> None:
    for _ in range(2):
        subscribe(redis_db, receiver.url)
    event = version(redis_db, "st_body", 1, "story.published", headline="First words")
    for d in fanout.story_event(redis_db, event, T0).deliveries:
        assert attempts.run(redis_db, d, T0, settings).status == "succeeded"
    first, second = receiver.bodies()
    assert first == second and b"First words" in first
    # the same ids over other stored bytes (a store wiped and filled again, say)
    redis_db.flushdb()
    subscribe(redis_db, receiver.url)
    event = version(redis_db, "st_body", 1, "story.published", headline="Other words")
    (d,) = fanout.story_event(redis_db, event, T0).deliveries
    assert attempts.run(redis_db, d, T0, settings).status == "succeeded"
    assert b"Other words" in receiver.bodies()[-1]
