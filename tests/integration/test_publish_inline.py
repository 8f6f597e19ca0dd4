"""First attempts made inside the fan-out (``services.publish.inline``): no ``deliver`` task per
delivery, a slow subscriber holds up no other, chains keep their order, and a failure to run
an attempt falls back to a task."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis

from services.publish import fanout, inline, schedule, store
from shared import keys
from shared.settings import Settings, get_settings
from tests.integration.test_publish_attempts import configure
from tests.integration.test_publish_flow import subscribe, version
from tests.support.receiver import Received, Receiver
from tests.support.waiting import wait_for


def fan_out(client: redis.Redis, story_id: str, number: int = 1) -> list[str]:
    kind = "story.published" if number == 1 else "story.updated"
    event = version(client, story_id, number, kind)  # type: ignore[arg-type]
    return fanout.story_event(client, event, datetime.now(UTC)).deliveries


def hanging(release: threading.Event) -> Receiver:
    """A receiver whose every answer waits until ``release`` is set (20 s at most)."""

    def slow(_got: Received) -> tuple[int, bytes]:
        release.wait(20)
        return 200, b"ok"

    return Receiver(respond=slow).start()


@contextlib.contextmanager
def hanging_and_quick() -> Iterator[tuple[threading.Event, Receiver, Receiver]]:
    """A receiver that hangs until the event is set and one that answers at once; both stopped
    (the hanging one let go first) when the block ends."""
    release = threading.Event()
    stuck, quick = hanging(release), Receiver().start()
    try:
        yield release, stuck, quick
    finally:
        release.set()
        stuck.stop()
        quick.stop()


def in_background(
    client: redis.Redis, made: list[str], settings: Settings
) -> tuple[threading.Thread, dict[str, str]]:
    """The first attempts of ``made`` on a thread of their own; their statuses land in the
    dict when they are all over."""
    done: dict[str, str] = {}
    runner = threading.Thread(
        target=lambda: done.update(inline.first_attempts(client, made, settings, print))
    )
    runner.start()
    return runner, done


def test_first_attempts_need_no_deliver_task(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch
) -> None:
    settings = configure(settings_env)
    receivers = [Receiver().start() for _ in range(3)]
    try:
        for receiver in receivers:
            subscribe(redis_db, receiver.url)
        made = fan_out(redis_db, "st_inline")
        sent: list[str] = []
        statuses = inline.first_attempts(redis_db, made, settings, sent.append)
        assert statuses == dict.fromkeys(made, "succeeded")
        assert sent == [], "no deliver task"
        for receiver in receivers:
            assert len(receiver.snapshot()) == 1
        for delivery_id in made:
            delivery = store.get_delivery(redis_db, delivery_id)
            assert delivery is not None and delivery.state == "succeeded"
    finally:
        for receiver in receivers:
            receiver.stop()


def test_a_slow_subscriber_does_not_hold_up_another_subscribers_first_attempt(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch
) -> None:
    settings = configure(settings_env)
    with hanging_and_quick() as (release, stuck, quick):
        subscribe(redis_db, stuck.url)
        quick_sub = subscribe(redis_db, quick.url)
        made = fan_out(redis_db, "st_slow")
        runner, done = in_background(redis_db, made, settings)
        wait_for(lambda: quick.snapshot(), timeout=10, message="the quick subscriber's attempt")
        quick_delivery = next(d for d in made if store.get_delivery(redis_db, d).subscription_id
                              == quick_sub.id)  # fmt: skip

        def recorded() -> bool:
            delivery = store.get_delivery(redis_db, quick_delivery)
            return delivery is not None and delivery.state == "succeeded"

        # recorded, and its slot free, while the slow one's request still hangs
        wait_for(recorded, timeout=10, message="the quick subscriber's attempt recorded")
        assert schedule.in_flight(redis_db, quick_sub.id, datetime.now(UTC)) == 0
        assert not done, "the fan-out still waits for the slow one"
        release.set()
        runner.join(20)
        assert set(done.values()) == {"succeeded"}


def test_a_hanging_partner_at_its_quick_limit_leaves_the_send_pool_to_the_others(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch
) -> None:
    """A batch's requests share a pool of threads per process. A partner that starts to hang
    can have up to the quick limit in flight; the pool must keep threads for the others then
    (with 8 threads, eight hanging requests held every one and the quick partner waited for
    the read timeout)."""
    settings = configure(settings_env)  # the default limits: 4, and 16 while quick
    with hanging_and_quick() as (release, stuck, quick):
        subscribe(redis_db, stuck.url)  # first: each story's hanging delivery goes first
        subscribe(redis_db, quick.url)
        made = [d for n in range(12) for d in fan_out(redis_db, f"st_pool{n}")]
        runner, done = in_background(redis_db, made, settings)
        wait_for(
            lambda: len(quick.snapshot()) == 12,
            timeout=10,
            message="every quick delivery while twelve requests hang",
        )
        assert len(stuck.snapshot()) == 12 and not done
        release.set()
        runner.join(20)
        assert set(done.values()) == {"succeeded"}


def test_a_delivery_left_waiting_for_a_slot_lets_go_of_its_lock_at_once(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch
) -> None:
    """Several first attempts to one subscription with one slot: the one that waits for the
    slot must be free to be woken while the batch still waits for a hanging request (it kept
    its lock until the batch ended, so a quick partner's waiter found itself busy for the
    whole read timeout of another partner)."""
    settings = configure(settings_env, WEBHOOK_MAX_IN_FLIGHT="1", WEBHOOK_MAX_IN_FLIGHT_QUICK="1")
    release = threading.Event()
    stuck = hanging(release)
    try:
        sub = subscribe(redis_db, stuck.url)
        made = fan_out(redis_db, "st_wait_a") + fan_out(redis_db, "st_wait_b")
        runner, done = in_background(redis_db, made, settings)
        wait_for(lambda: stuck.snapshot(), timeout=10, message="the first request to hang")
        waiting = schedule.pop_waiter(redis_db, sub.id)
        assert waiting in made, "one of the two waits for the slot"
        assert not redis_db.exists(keys.delivery_lock(waiting)), "and its lock is free"
        assert not done, "while the batch still waits for the hanging request"
        release.set()
        runner.join(20)
        assert sorted(done.values()) == ["succeeded", "waiting for a slot"]
    finally:
        release.set()
        stuck.stop()


def test_a_later_version_waits_for_the_earlier_and_is_woken_as_a_task(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch
) -> None:
    settings = configure(settings_env)
    receiver = Receiver(statuses=[503]).start()  # the first version's first attempt fails
    try:
        subscribe(redis_db, receiver.url)
        (first,) = fan_out(redis_db, "st_chain", 1)
        sent: list[str] = []
        assert inline.first_attempts(redis_db, [first], settings, sent.append) == {first: "retry"}
        (second,) = fan_out(redis_db, "st_chain", 2)
        statuses = inline.first_attempts(redis_db, [second], settings, sent.append)
        assert statuses[second].startswith("waiting for"), statuses
        assert len(receiver.snapshot()) == 1, "version 2 is not sent before version 1"
        assert sent == []
    finally:
        receiver.stop()


def test_an_attempt_that_cannot_run_is_sent_as_a_task_and_the_switch_turns_it_off(
    redis_db: redis.Redis, settings_env: pytest.MonkeyPatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = configure(settings_env)
    receiver = Receiver().start()
    try:
        subscribe(redis_db, receiver.url)
        made = fan_out(redis_db, "st_fallback")

        def broken(*_args: object) -> None:
            raise redis.ConnectionError("blip")

        sent: list[str] = []
        with monkeypatch.context() as patched:
            patched.setattr(inline.attempts, "run_many", broken)
            statuses = inline.first_attempts(redis_db, made, settings, sent.append)
        assert statuses == {made[0]: "sent"}
        assert sent == made
        configure(settings_env, PUBLISH_INLINE_ATTEMPTS="false")
        off: list[str] = []
        inline.first_attempts(redis_db, made, get_settings(), off.append)
        assert off == made and receiver.snapshot() == []
    finally:
        receiver.stop()
