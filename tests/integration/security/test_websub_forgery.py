"""Forged and replayed WebSub verification against our hub, on the live service.

Anyone may ``POST /websub`` (the W3C spec wants it so), so a request proves nothing: only the
callback itself, echoing the fresh random ``hub.challenge`` of that very verification with a
``2xx``, makes a subscription take effect. So: a stranger cannot subscribe a callback that did not
ask (forged subscribe), cannot unsubscribe or re-key a subscription that its callback does not
confirm (forged unsubscribe or takeover), and a challenge seen once and replayed later activates
nothing; a verified request run again does nothing either.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import redis
import requests

from services.publish import websub_store
from services.publish.websub import subscription_id_for
from services.publish.websub_verify import verify
from shared.settings import Settings
from tests.integration.publish.conftest import wait_intent
from tests.support.receiver import Received, Receiver
from tests.support.service import Service
from tests.support.websub_callback import query_of

TOPIC = "/feeds/all.rss"


@dataclass
class Subscriber(Receiver):
    """A callback with a will of its own: ``answer(query, challenges_seen_before)`` decides the
    verification reply; every challenge it is sent is recorded."""

    answer: object = None
    challenges: list[str] = field(default_factory=list)
    modes: list[str] = field(default_factory=list)
    _seen: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.respond = self._reply

    def _reply(self, got: Received) -> tuple[int, bytes]:
        if got.method != "GET":
            return 200, b"thanks"
        query = query_of(got)
        with self._seen:
            before = list(self.challenges)
            self.challenges.append(query.get("hub.challenge", ""))
            self.modes.append(query.get("hub.mode", ""))
        assert callable(self.answer)
        status, body = self.answer(query, before)
        return status, body.encode()


def honest(*modes: str) -> object:
    """A real subscriber: confirms only the modes it asked for, with the challenge it got."""
    return lambda q, _before: (
        (200, q["hub.challenge"]) if q.get("hub.mode") in modes else (404, "not mine")
    )


@pytest.fixture
def subscribers() -> Iterator[list[Subscriber]]:
    made: list[Subscriber] = []
    yield made
    for sub in made:
        sub.stop()


def new_subscriber(made: list[Subscriber], answer: object) -> Subscriber:
    sub = Subscriber(answer=answer).start()
    assert isinstance(sub, Subscriber)
    made.append(sub)
    return sub


def hub(service: Service, mode: str, callback: str, **extra: str) -> dict[str, object]:
    """A hub request as anyone may send it (no token), and what became of it."""
    data = {
        "hub.mode": mode,
        "hub.topic": service.base_url + TOPIC,
        "hub.callback": callback,
        **{f"hub.{k}": v for k, v in extra.items()},
    }
    answer = requests.post(f"{service.base_url}/websub", data=data, timeout=10)
    assert answer.status_code == 202, answer.text
    return wait_intent(service, str(answer.json()["intent"]), timeout=60)


def active(service: Service, callback: str) -> list[dict[str, object]]:
    listed = service.get("/v1/websub/subscriptions", headers=service.auth()).json()["items"]
    return [item for item in listed if item["callback"] == callback]


def test_a_callback_that_did_not_ask_is_never_subscribed(
    security_service: Service, subscribers: list[Subscriber]
) -> None:
    """Forged subscribe: the victim's endpoint answers 200 to anything, but not the challenge."""
    victim = new_subscriber(subscribers, lambda q, b: (200, "ok"))
    intent = hub(security_service, "subscribe", victim.url)
    assert intent["state"] == "failed" and "hub.challenge" in str(intent["detail"])
    assert active(security_service, victim.url) == []
    assert victim.modes == ["subscribe"]


@pytest.mark.parametrize(
    "reply",
    [
        lambda q, b: (200, f"challenge={q['hub.challenge']}"),
        lambda q, b: (200, q["hub.challenge"] + "x"),
        lambda q, b: (500, q["hub.challenge"]),
        lambda q, b: (302, q["hub.challenge"]),
        lambda q, b: (200, q["hub.challenge"][:-1]),
        lambda q, b: (200, ""),
    ],
    ids=["wrapped", "suffixed", "error-status", "redirect", "truncated", "empty"],
)
def test_only_the_exact_challenge_with_a_2xx_counts(
    security_service: Service, subscribers: list[Subscriber], reply: object
) -> None:
    callback = new_subscriber(subscribers, reply)
    assert hub(security_service, "subscribe", callback.url)["state"] == "failed"
    assert active(security_service, callback.url) == []


def test_a_forged_unsubscribe_does_not_end_a_subscription(
    security_service: Service, subscribers: list[Subscriber]
) -> None:
    owner = new_subscriber(subscribers, honest("subscribe"))
    assert hub(security_service, "subscribe", owner.url)["state"] == "verified"
    forged = hub(security_service, "unsubscribe", owner.url)
    assert forged["state"] == "failed"
    assert len(active(security_service, owner.url)) == 1


def test_a_replayed_challenge_neither_re_keys_nor_ends_a_subscription(
    security_service: Service, subscribers: list[Subscriber]
) -> None:
    """The attacker saw the challenge of the owner's verification and plays it back later: to
    take the subscription over with its own secret, or to end it."""
    replaying = {"on": False}

    def owner_then_replay(query: dict[str, str], before: list[str]) -> tuple[int, str]:
        if replaying["on"] and before:
            return 200, before[0]  # the first challenge ever seen: stale
        return 200, query["hub.challenge"]

    callback = new_subscriber(subscribers, owner_then_replay)
    assert hub(security_service, "subscribe", callback.url)["state"] == "verified"
    [before] = active(security_service, callback.url)
    assert before["signed"] is False

    replaying["on"] = True
    takeover = hub(security_service, "subscribe", callback.url, secret="attacker-secret")
    assert takeover["state"] == "failed"
    ended = hub(security_service, "unsubscribe", callback.url)
    assert ended["state"] == "failed"
    [after] = active(security_service, callback.url)
    assert after["signed"] is False and after["verified_at"] == before["verified_at"]
    # every verification carried its own fresh, unguessable challenge
    assert len(set(callback.challenges)) == len(callback.challenges) == 3
    assert all(len(challenge) >= 32 for challenge in callback.challenges)


def test_a_verified_request_run_again_activates_nothing(
    security_service: Service, subscribers: list[Subscriber], security_redis: redis.Redis
) -> None:
    """Subscribe, then unsubscribe (both verified); the old subscribe intent's verification
    replayed afterwards (a redelivered task, or a challenge echoed anew) changes nothing."""
    callback = new_subscriber(subscribers, honest("subscribe", "unsubscribe"))
    first = hub(security_service, "subscribe", callback.url)
    assert first["state"] == "verified"
    assert hub(security_service, "unsubscribe", callback.url)["state"] == "verified"
    assert active(security_service, callback.url) == []

    settings = Settings(
        _env_file=None,
        redis_url=security_service.redis_url,
        webhook_allowed_networks="127.0.0.0/8",
    )
    asked = len(callback.challenges)
    state = verify(
        security_redis, str(first["id"]), datetime.now(UTC), settings, "replayed-challenge-0"
    )
    assert state == "nothing to do"
    assert len(callback.challenges) == asked, "no verification was even sent"
    feed, fmt = "all", "rss"
    sub_id = subscription_id_for(feed, fmt, callback.url)
    assert websub_store.get(security_redis, sub_id) is None
    assert active(security_service, callback.url) == []
