"""The WebSub hub's rules, pure: request parsing, topics, leases, challenge, signatures."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from flask_websub.utils import calculate_hmac

from services.publish.websub import (
    Intent,
    challenge_echoed,
    distribution_headers,
    distribution_id_for,
    grant_lease,
    hub_signature,
    link_header,
    parse_hub_request,
    subscription_from,
    subscription_id_for,
    topic_feed,
    verification_params,
)
from shared.errors import BadRequest

BASE = "https://syndicate.example"
NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
# A fixed vector (also in docs/websub.md)
VECTOR_SECRET = "some_secret"
VECTOR_BODY = b"<rss version='2.0'><channel><title>t</title></channel></rss>"
VECTOR_SIGNATURE = "sha256=" + hmac.new(b"some_secret", VECTOR_BODY, hashlib.sha256).hexdigest()


def form(**fields: str) -> list[tuple[str, str]]:
    return [(name.replace("_", ".", 1), value) for name, value in fields.items()]


def test_a_typical_request_is_read() -> None:
    asked = parse_hub_request(
        form(
            hub_mode="subscribe",
            hub_topic=f"{BASE}/feeds/all.rss",
            hub_callback="https://reader.example/cb?x=1",
        )
    )
    assert (asked.mode, asked.topic, asked.callback) == (
        "subscribe",
        f"{BASE}/feeds/all.rss",
        "https://reader.example/cb?x=1",
    )
    assert asked.lease_seconds is None and asked.secret is None


def test_extra_parameters_are_ignored_and_the_first_of_repeats_counts() -> None:
    asked = parse_hub_request(
        [
            ("hub.mode", "unsubscribe"),
            ("hub.topic", f"{BASE}/feeds/all.atom"),
            ("hub.callback", "https://r.example/a"),
            ("hub.callback", "https://r.example/b"),
            ("foo", "bar"),
            ("hub.lease_seconds", "600"),
            ("hub.secret", "s3cret"),
        ]
    )
    assert asked.mode == "unsubscribe" and asked.callback == "https://r.example/a"
    assert asked.lease_seconds == 600 and asked.secret == "s3cret"


@pytest.mark.parametrize(
    ("fields", "parameter"),
    [
        ({"hub_topic": f"{BASE}/feeds/all.rss", "hub_callback": "https://r.example/"}, "hub.mode"),
        ({"hub_mode": "watch", "hub_topic": "x", "hub_callback": "y"}, "hub.mode"),
        ({"hub_mode": "publish", "hub_url": f"{BASE}/feeds/all.rss"}, "hub.mode"),
        ({"hub_mode": "subscribe", "hub_callback": "https://r.example/"}, "hub.topic"),
        ({"hub_mode": "subscribe", "hub_topic": f"{BASE}/feeds/all.rss"}, "hub.callback"),
        (
            {"hub_mode": "subscribe", "hub_topic": f"{BASE}/f", "hub_callback": "ftp://r/x"},
            "hub.callback",
        ),
        (
            {
                "hub_mode": "subscribe",
                "hub_topic": f"{BASE}/f",
                "hub_callback": "https://r/",
                "hub_lease_seconds": "-5",
            },
            "hub.lease_seconds",
        ),
        (
            {
                "hub_mode": "subscribe",
                "hub_topic": f"{BASE}/f",
                "hub_callback": "https://r/",
                "hub_secret": "x" * 200,
            },
            "hub.secret",
        ),
        (
            {"hub_mode": "subscribe", "hub_topic": f"{BASE}/f", "hub_callback": "http://[::1"},
            "hub.callback",
        ),
        (
            {"hub_mode": "subscribe", "hub_topic": "http://[x", "hub_callback": "https://r/"},
            "hub.topic",
        ),
        (
            {"hub_mode": "subscribe", "hub_topic": "http://[x]/", "hub_callback": "https://r/"},
            "hub.topic",
        ),
    ],
)
def test_bad_requests_name_the_parameter(fields: dict[str, str], parameter: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_hub_request(form(**fields))
    assert caught.value.extra["parameter"] == parameter


def test_a_secret_just_under_200_bytes_is_taken() -> None:
    asked = parse_hub_request(
        form(
            hub_mode="subscribe",
            hub_topic=f"{BASE}/f",
            hub_callback="https://r/",
            hub_secret="é" * 99 + "x",  # 199 bytes
        )
    )
    assert asked.secret is not None and len(asked.secret.encode()) == 199


def test_only_our_feed_urls_are_topics() -> None:
    assert topic_feed(f"{BASE}/feeds/all.rss", BASE) == ("all", "rss")
    assert topic_feed(f"{BASE}/feeds/sections/world-news.atom", BASE + "/") == (
        "sections/world-news",
        "atom",
    )
    assert topic_feed(f"{BASE}/feeds/all.json", BASE) == ("all", "json")
    assert topic_feed("https://elsewhere.example/feeds/all.rss", BASE) is None
    assert topic_feed(f"{BASE}/feeds/all.txt", BASE) is None
    assert topic_feed(f"{BASE}/feeds/../secrets.rss", BASE) is None
    assert topic_feed(f"{BASE}/feeds/all.rss?x=1", BASE) is None
    assert topic_feed(f"{BASE}/v1/stories.rss", BASE) is None


def test_leases_are_clamped_and_defaulted() -> None:
    assert grant_lease(None, 864000, 60, 1000000) == 864000
    assert grant_lease(5, 864000, 60, 1000000) == 60
    assert grant_lease(99999999, 864000, 60, 1000000) == 1000000
    assert grant_lease(3600, 864000, 60, 1000000) == 3600


def test_one_subscription_per_topic_and_callback() -> None:
    assert subscription_id_for("all", "rss", "https://r/") == subscription_id_for(
        "all", "rss", "https://r/"
    )
    assert subscription_id_for("all", "rss", "https://r/") != subscription_id_for(
        "all", "atom", "https://r/"
    )
    assert distribution_id_for("wsub_1", '"a"') != distribution_id_for("wsub_1", '"b"')


def test_verification_query() -> None:
    assert verification_params("subscribe", "t", "c", 60) == {
        "hub.mode": "subscribe",
        "hub.topic": "t",
        "hub.challenge": "c",
        "hub.lease_seconds": "60",
    }
    assert "hub.lease_seconds" not in verification_params("unsubscribe", "t", "c", 60)


def test_the_challenge_must_come_back_with_a_2xx() -> None:
    assert challenge_echoed(200, b"abc123", "abc123")
    assert challenge_echoed(204, b"abc123\n", "abc123")
    assert not challenge_echoed(200, b"abc124", "abc123")
    assert not challenge_echoed(200, b"", "abc123")
    assert not challenge_echoed(404, b"abc123", "abc123")


def test_signature_vector_agrees_with_an_independent_subscriber() -> None:
    assert hub_signature(VECTOR_SECRET, VECTOR_BODY) == VECTOR_SIGNATURE
    algo, digest = hub_signature(VECTOR_SECRET, VECTOR_BODY).split("=")
    assert digest == calculate_hmac(algo, VECTOR_SECRET, VECTOR_BODY)  # flask-websub's own


def test_distribution_headers() -> None:
    hub, topic = f"{BASE}/websub", f"{BASE}/feeds/all.rss"
    signed = distribution_headers("application/rss+xml", hub, topic, "s", b"<rss/>")
    assert signed["Content-Type"] == "application/rss+xml"
    assert signed["Link"] == link_header(hub, topic) == f'<{hub}>; rel="hub", <{topic}>; rel="self"'
    assert signed["X-Hub-Signature"] == hub_signature("s", b"<rss/>")
    assert "X-Hub-Signature" not in distribution_headers("text/plain", hub, topic, None, b"x")


def test_a_verified_intent_makes_a_subscription_with_its_lease() -> None:
    intent = Intent(
        id="wsi_1",
        subscription_id="wsub_1",
        mode="subscribe",
        topic=f"{BASE}/feeds/all.rss",
        feed="all",
        fmt="rss",
        callback="https://r/",
        secret=None,
        lease_seconds=120,
        requested_at=NOW,
    )
    sub = subscription_from(intent, NOW, None)
    assert sub.expires_at == NOW + timedelta(seconds=120) and sub.created_at == NOW
    assert sub.active(NOW + timedelta(seconds=119)) and not sub.active(sub.expires_at)
    renewed = subscription_from(intent, NOW + timedelta(hours=1), created_at=NOW)
    assert renewed.created_at == NOW and renewed.verified_at == NOW + timedelta(hours=1)
