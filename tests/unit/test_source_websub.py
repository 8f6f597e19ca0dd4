"""The WebSub subscriber's rules, pure: discovery, when to (re)subscribe or leave, verification
of intent (only our pending request, only once), signatures, lease renewal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.ingest.sources.model import PendingRequest, WebSubState
from services.ingest.sources.websub import (
    MAX_LEASE_SECONDS,
    PENDING_SECONDS,
    Discovery,
    describe,
    discover,
    link_header_rels,
    next_action,
    pending_for,
    renew_at,
    request_failed,
    request_form,
    signature_valid,
    verify,
)
from services.publish.websub import hub_signature

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
HUB = Discovery("https://hub.example/", "https://wire.example/feed")


def pending(mode: str = "subscribe", at: datetime = NOW) -> PendingRequest:
    return PendingRequest(
        mode=mode,  # type: ignore[arg-type]
        hub=HUB.hub,
        topic=HUB.topic,
        secret="s3cret" if mode == "subscribe" else None,
        lease_seconds=86400 if mode == "subscribe" else None,
        requested_at=at,
    )


def active(expires_in: float = 86400 * 5, lease: int = 86400 * 10) -> WebSubState:
    return WebSubState(
        hub=HUB.hub,
        topic=HUB.topic,
        secret="s3cret",
        lease_seconds=lease,
        expires_at=NOW + timedelta(seconds=expires_in),
        verified_at=NOW - timedelta(days=1),
    )


def check(mode: str = "subscribe", topic: str = HUB.topic, **extra: str) -> dict[str, str]:
    return {"hub.mode": mode, "hub.topic": topic, "hub.challenge": "ch4llenge", **extra}


def test_link_headers_are_read_with_their_rels() -> None:
    value = '<https://hub.example/>; rel="hub", <https://w/f>; rel="self alternate"; type="x"'
    assert link_header_rels(value) == [
        ("https://hub.example/", {"hub"}),
        ("https://w/f", {"self", "alternate"}),
    ]
    assert link_header_rels("<https://h/>;rel=hub") == [("https://h/", {"hub"})]
    assert link_header_rels(None) == []


def test_discovery_prefers_the_link_header_and_the_self_url() -> None:
    header = '<https://h1/>; rel="hub", <https://w/self>; rel="self"'
    assert discover(header, ["https://h2/"], "https://w/doc", "https://w/got") == Discovery(
        "https://h1/", "https://w/self"
    )
    assert discover(None, ["https://h2/"], "https://w/doc", "https://w/got") == Discovery(
        "https://h2/", "https://w/doc"
    )
    assert discover(None, ["https://h2/"], None, "https://w/got") == Discovery(
        "https://h2/", "https://w/got"
    )
    assert discover('<https://w/self>; rel="self"', [], None, "https://w/got") is None


def test_an_advertised_hub_is_subscribed_to_with_a_new_secret() -> None:
    action = next_action(WebSubState(), HUB, NOW)
    assert action == ("subscribe", HUB)
    request = pending_for("subscribe", HUB, WebSubState(), NOW, "fresh", 3600)
    assert request.secret == "fresh" and request.lease_seconds == 3600
    form = request_form(request, "https://us/websub/callback/src_1")
    assert form == {
        "hub.mode": "subscribe",
        "hub.topic": HUB.topic,
        "hub.callback": "https://us/websub/callback/src_1",
        "hub.secret": "fresh",
        "hub.lease_seconds": "3600",
    }


def test_nothing_to_ask_while_a_request_waits_or_the_lease_is_long() -> None:
    assert next_action(WebSubState(pending=pending()), HUB, NOW + timedelta(seconds=5)) is None
    assert next_action(active(), HUB, NOW) is None
    assert next_action(WebSubState(), None, NOW) is None
    after_failure = WebSubState(retry_at=NOW + timedelta(minutes=5), failures=1)
    assert next_action(after_failure, HUB, NOW) is None
    assert next_action(after_failure, HUB, NOW + timedelta(minutes=6)) == ("subscribe", HUB)


def test_a_request_the_hub_never_checked_is_sent_again() -> None:
    stale = WebSubState(pending=pending())
    assert next_action(stale, HUB, NOW + timedelta(seconds=PENDING_SECONDS + 1)) == (
        "subscribe",
        HUB,
    )


def test_the_lease_is_renewed_before_it_ends_with_the_same_secret() -> None:
    state = active(expires_in=3600, lease=86400 * 10)  # a day is the most we renew early
    assert renew_at(state) == NOW + timedelta(seconds=3600 - 86400)
    assert next_action(state, HUB, NOW) == ("subscribe", HUB)
    renewal = pending_for("subscribe", HUB, state, NOW, "other", 3600)
    assert renewal.secret == "s3cret"
    short = active(expires_in=4, lease=8)  # a quarter of a short lease
    assert renew_at(short) == NOW + timedelta(seconds=2)
    assert next_action(short, HUB, NOW) is None
    assert next_action(short, HUB, NOW + timedelta(seconds=2)) == ("subscribe", HUB)


def test_a_new_hub_or_topic_is_a_new_subscription_and_a_dropped_hub_is_left() -> None:
    moved = Discovery("https://other-hub/", HUB.topic)
    assert next_action(active(), moved, NOW) == ("subscribe", moved)
    assert pending_for("subscribe", moved, active(), NOW, "new", 60).secret == "new"
    assert next_action(active(), None, NOW) == ("unsubscribe", HUB)
    leaving = pending_for("unsubscribe", HUB, active(), NOW, "unused", 60)
    assert leaving.secret is None and "hub.secret" not in request_form(leaving, "https://cb")


def test_verification_echoes_the_challenge_only_for_our_pending_request() -> None:
    state = WebSubState(pending=pending())
    verdict = verify(state, check(**{"hub.lease_seconds": "7200"}), NOW + timedelta(seconds=3))
    assert (verdict.status, verdict.body) == (200, "ch4llenge")
    assert verdict.state is not None and verdict.state.active(NOW + timedelta(seconds=3))
    assert verdict.state.secret == "s3cret" and verdict.state.lease_seconds == 7200
    assert verdict.state.expires_at == NOW + timedelta(seconds=7203)
    assert verdict.state.pending is None
    # the same check again (replayed) finds nothing pending
    assert verify(verdict.state, check(), NOW).status == 404


@pytest.mark.parametrize(
    "params",
    [
        check(topic="https://wire.example/other"),  # another topic
        check(mode="unsubscribe"),  # not what we asked
        {"hub.mode": "subscribe", "hub.topic": HUB.topic},  # no challenge
    ],
)
def test_forged_checks_are_refused(params: dict[str, str]) -> None:
    verdict = verify(WebSubState(pending=pending()), params, NOW)
    assert verdict.status == 404 and verdict.state is None


def test_a_check_with_nothing_pending_or_too_late_is_refused() -> None:
    assert verify(WebSubState(), check(), NOW).status == 404
    assert verify(active(), check(), NOW).status == 404
    late = NOW + timedelta(seconds=PENDING_SECONDS + 1)
    assert verify(WebSubState(pending=pending()), check(), late).status == 404


def test_an_unsubscribe_we_asked_for_clears_the_subscription() -> None:
    state = active().model_copy(update={"pending": pending("unsubscribe")})
    verdict = verify(state, check("unsubscribe"), NOW)
    assert verdict.status == 200 and verdict.state is not None
    assert verdict.state.hub is None and verdict.state.secret is None


def test_a_denial_is_recorded_and_asked_again_only_much_later() -> None:
    state = WebSubState(pending=pending())
    verdict = verify(state, {"hub.mode": "denied", "hub.topic": HUB.topic, "hub.reason": "no"}, NOW)
    assert verdict.status == 200 and verdict.state is not None
    assert verdict.state.denied_reason == "no" and describe(verdict.state, NOW) == "denied"
    assert next_action(verdict.state, HUB, NOW + timedelta(hours=1)) is None
    unknown = verify(WebSubState(), {"hub.mode": "denied", "hub.topic": HUB.topic}, NOW)
    assert unknown.status == 404


def test_signatures_are_checked_against_our_secret() -> None:
    body = b"<rss version='2.0'><channel><title>t</title></channel></rss>"
    signed = hub_signature("s3cret", body)  # what a hub (ours) sends
    assert signature_valid(signed, ["s3cret"], body)
    assert signature_valid(signed.upper().replace("SHA256", "sha256"), ["s3cret"], body)
    assert signature_valid(signed, [None, "older", "s3cret"], body)
    assert not signature_valid(signed, ["other"], body)
    assert not signature_valid(signed, ["s3cret"], body + b" ")
    assert not signature_valid(None, ["s3cret"], body)
    assert not signature_valid("", ["s3cret"], body)
    assert not signature_valid("md5=abc", ["s3cret"], body)
    assert not signature_valid("sha256=", ["s3cret"], body)
    assert not signature_valid(signed, [None], body)


@pytest.mark.parametrize("method", ["sha1", "sha384", "sha512"])
def test_every_method_the_recommendation_lists(method: str) -> None:
    import hashlib
    import hmac

    body = b"content"
    digest = hmac.new(b"k", body, getattr(hashlib, method)).hexdigest()
    assert signature_valid(f"{method}={digest}", ["k"], body)


def test_a_failed_request_waits_longer_each_time() -> None:
    asked = pending()
    first = request_failed(WebSubState(pending=asked), asked, "refused", NOW)
    second = request_failed(first, asked, "refused", NOW)
    assert first.pending is None and first.failures == 1 and first.last_error == "refused"
    assert first.retry_at is not None and second.retry_at is not None
    assert second.retry_at - NOW > first.retry_at - NOW
    assert describe(first, NOW) == "failed"


def test_describe() -> None:
    assert describe(None, NOW) == "none"
    assert describe(WebSubState(), NOW) == "none"
    assert describe(active(), NOW) == "active"
    assert describe(WebSubState(pending=pending()), NOW) == "pending"
    assert describe(active(expires_in=-1), NOW) == "expired"


@pytest.mark.parametrize(
    ("given", "lease"),
    [
        ("9" * 15, MAX_LEASE_SECONDS),  # more than a year: a year
        ("9" * 400, MAX_LEASE_SECONDS),
        (str(MAX_LEASE_SECONDS + 1), MAX_LEASE_SECONDS),
        ("²", 86400),  # not ASCII digits: not a number, so the lease we asked for
        ("٣", 86400),
        ("-5", 86400),
        ("", 86400),
    ],
)
def test_a_granted_lease_is_ascii_digits_at_most_a_year(given: str, lease: int) -> None:
    verdict = verify(WebSubState(pending=pending()), check(**{"hub.lease_seconds": given}), NOW)
    assert verdict.status == 200 and verdict.state is not None
    assert verdict.state.lease_seconds == lease
    assert verdict.state.expires_at == NOW + timedelta(seconds=lease)


@pytest.mark.parametrize("value", ["sha256=é", "sha256=\x00", "sha1=" + "ü" * 40, "é=abc"])
def test_a_signature_that_is_not_ascii_is_simply_wrong(value: str) -> None:
    assert not signature_valid(value, ["s3cret"], b"content")


PARAM_NAMES = st.sampled_from(
    ["hub.mode", "hub.topic", "hub.challenge", "hub.lease_seconds", "hub.reason", "other"]
)
PARAM_VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["subscribe", "unsubscribe", "denied", HUB.topic, "9" * 30, "²"]),
)


@settings(max_examples=300, deadline=None)
@given(
    params=st.dictionaries(PARAM_NAMES, PARAM_VALUES, max_size=6),
    mode=st.sampled_from(["subscribe", "unsubscribe"]),
    matching=st.booleans(),
    signature=st.text(max_size=80),
    body=st.binary(max_size=50),
)
@example(
    params={"hub.lease_seconds": "9" * 15}, mode="subscribe", matching=True, signature="", body=b""
)
@example(params={"hub.lease_seconds": "²"}, mode="subscribe", matching=True, signature="", body=b"")
@example(params={}, mode="subscribe", matching=False, signature="sha256=é", body=b"")
def test_anything_a_hub_or_a_stranger_sends_gets_an_answer(
    params: dict[str, str], mode: str, matching: bool, signature: str, body: bytes
) -> None:
    """The callback's pure rules answer every check (200 or 404) and every signature (valid
    or not) without raising: no 500 for anything a client can send. (``matching``: the check
    starts from one our pending request would accept, so the lease is read.)"""
    if matching:
        params = {**check(mode), **params}
    verdict = verify(WebSubState(pending=pending(mode)), params, NOW)
    assert verdict.status in (200, 404)
    if verdict.state is not None and verdict.state.expires_at is not None:
        assert verdict.state.expires_at <= NOW + timedelta(seconds=MAX_LEASE_SECONDS)
    assert signature_valid(signature, ["s3cret"], body) in (True, False)
