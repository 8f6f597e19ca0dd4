"""Polite polling, pure: when the next poll comes after a success, a 304, a 429/503 with
Retry-After, an error; backoff and recovery; Cache-Control; conditional headers; 301s."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.ingest.sources.policy import (
    HUGE_SECONDS,
    LONGEST_WAIT_SECONDS,
    backoff,
    classify,
    conditional_headers,
    fresh_for,
    permanent_url,
    plan_failure,
    plan_success,
    retry_after,
)

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


def seconds(when: datetime) -> float:
    return (when - NOW).total_seconds()


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, "ok"),
        (203, "ok"),
        (304, "not-modified"),
        (429, "throttled"),
        (503, "throttled"),
        (410, "gone"),
        (404, "error"),
        (500, "error"),
        (302, "error"),  # a redirect left over after the limit is not a feed
    ],
)
def test_statuses_are_classified(status: int, outcome: str) -> None:
    assert classify(status) == outcome


def test_conditional_headers_carry_the_validators_the_last_200_gave() -> None:
    assert conditional_headers('"v1"', "Tue, 01 Sep 2026 08:00:00 GMT") == {
        "If-None-Match": '"v1"',
        "If-Modified-Since": "Tue, 01 Sep 2026 08:00:00 GMT",
    }
    assert conditional_headers(None, None) == {}
    assert conditional_headers('W/"x"', None) == {"If-None-Match": 'W/"x"'}


@pytest.mark.parametrize(
    ("headers", "fresh"),
    [
        ({"Cache-Control": "max-age=600"}, 600.0),
        ({"cache-control": "public, max-age=600, must-revalidate"}, 600.0),
        ({"Cache-Control": "max-age=600", "Age": "100"}, 500.0),
        ({"Cache-Control": "max-age=60", "Age": "100"}, 0.0),
        ({"Cache-Control": 'max-age="120"'}, 120.0),
        ({"Cache-Control": "no-cache, max-age=600"}, None),
        ({"Cache-Control": "no-store"}, None),
        ({"Cache-Control": "s-maxage=600"}, None),  # for shared caches, not us
        ({"Cache-Control": "public"}, None),
        ({}, None),
    ],
)
def test_cache_control_max_age_less_age(headers: dict[str, str], fresh: float | None) -> None:
    assert fresh_for(headers) == fresh


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    assert retry_after("120", NOW) == 120.0
    assert retry_after(" 7 ", NOW) == 7.0
    assert retry_after("Tue, 01 Sep 2026 12:05:00 GMT", NOW) == 300.0
    assert retry_after("Tue, 01 Sep 2026 12:05:00 -0000", NOW) == 300.0  # a naive date
    assert retry_after("Tue, 01 Sep 2026 11:00:00 GMT", NOW) == 0.0  # already past
    assert retry_after("soon", NOW) is None
    assert retry_after("", NOW) is None
    assert retry_after(None, NOW) is None


def test_backoff_doubles_from_the_interval_up_to_the_cap() -> None:
    assert [backoff(10, n, 3600) for n in (1, 2, 3, 4)] == [20, 40, 80, 160]
    assert backoff(10, 30, 3600) == 3600
    assert backoff(10, 1000, 3600) == 3600  # no overflow however long the run
    assert backoff(7200, 3, 3600) == 7200  # a longer interval of the source's own stands
    assert backoff(10, 1, 3600, jitter=0.1) == pytest.approx(22.0)
    assert backoff(10, 1, 3600, jitter=-0.1) == pytest.approx(18.0)


def test_a_success_waits_the_interval_and_ends_the_failure_run() -> None:
    plan = plan_success(NOW, 60, 3600)
    assert seconds(plan.next_at) == 60 and plan.failures == 0 and plan.reason == "interval"


def test_a_document_fresh_for_longer_than_the_interval_is_not_asked_for_sooner() -> None:
    plan = plan_success(NOW, 60, 3600, fresh=900)
    assert seconds(plan.next_at) == 900 and plan.reason == "cache-control max-age"
    assert seconds(plan_success(NOW, 60, 3600, fresh=30).next_at) == 60  # the interval stands
    capped = plan_success(NOW, 60, 3600, fresh=10**9)
    assert seconds(capped.next_at) == 3600  # a year of max-age does not stop polling


def test_while_a_hub_pushes_the_poll_is_a_slow_safety_net() -> None:
    plan = plan_success(NOW, 60, 3600, fresh=120, safety_net=1800)
    assert seconds(plan.next_at) == 1800 and plan.reason == "websub safety net"


def test_failures_back_off_exponentially_and_count_the_run() -> None:
    first = plan_failure(NOW, 10, 0, 3600)
    second = plan_failure(NOW, 10, first.failures, 3600)
    third = plan_failure(NOW, 10, second.failures, 3600)
    assert [p.failures for p in (first, second, third)] == [1, 2, 3]
    assert [seconds(p.next_at) for p in (first, second, third)] == [20, 40, 80]
    assert first.reason.startswith("backoff")


def test_retry_after_delays_the_next_poll_beyond_the_backoff() -> None:
    plan = plan_failure(NOW, 1, 0, 3600, retry_after_seconds=30)
    assert seconds(plan.next_at) == 30 and plan.reason == "retry-after" and plan.failures == 1
    # a Retry-After shorter than the backoff does not make us come sooner
    short = plan_failure(NOW, 10, 3, 3600, retry_after_seconds=5)
    assert seconds(short.next_at) == 160
    # nor can it hold us off for longer than the cap
    assert seconds(plan_failure(NOW, 1, 0, 3600, retry_after_seconds=10**7).next_at) == 3600


def test_recovery_after_a_failure_run() -> None:
    failed = plan_failure(NOW, 10, 4, 3600)
    assert failed.failures == 5
    recovered = plan_success(NOW + timedelta(hours=1), 10, 3600)
    assert recovered.failures == 0 and (recovered.next_at - NOW).total_seconds() == 3610


@pytest.mark.parametrize(
    ("redirects", "moved"),
    [
        ((), None),
        (((301, "https://b/feed"),), "https://b/feed"),
        (((308, "https://b/feed"),), "https://b/feed"),
        (((301, "https://b/feed"), (302, "https://c/feed")), "https://b/feed"),
        (((301, "https://b/feed"), (301, "https://c/feed")), "https://c/feed"),
        (((302, "https://b/feed"), (301, "https://c/feed")), None),  # temporary first: keep
        (((307, "https://b/feed"),), None),
    ],
)
def test_permanent_redirects_move_the_source(
    redirects: tuple[tuple[int, str], ...], moved: str | None
) -> None:
    assert permanent_url(redirects) == moved


# --- what an upstream may send: never a crash, never a wait past the caps ------------------------

#: delta-seconds as upstreams write them, and as they should not: Unicode digits (``str.isdigit``
#: and ``int`` take ``²`` and ``٣``), hundreds of digits, signs, spaces, fractions
ODD_NUMBERS = ["²", "٣", "１２", "9" * 400, "-5", "+5", "1.5", "1e3", "0x10", " ", "5 5", "\x00"]


@pytest.mark.parametrize("value", ODD_NUMBERS)
def test_header_numbers_are_ascii_digits_and_nothing_else(value: str) -> None:
    fresh = fresh_for({"Cache-Control": f"max-age={value}"})
    waited = retry_after(value, NOW)
    if value == "9" * 400:  # huge: read as huge, then capped by the plan
        assert fresh == HUGE_SECONDS and waited == HUGE_SECONDS
    else:
        assert fresh is None and waited is None
    # an odd Age is no Age at all
    assert fresh_for({"Cache-Control": "max-age=600", "Age": value}) == (
        0.0 if value == "9" * 400 else 600.0
    )


def test_huge_answers_are_capped_and_never_overflow() -> None:
    capped = plan_success(NOW, 60, 3600, fresh=fresh_for({"Cache-Control": "max-age=" + "9" * 400}))
    assert seconds(capped.next_at) == 3600 and capped.reason == "cache-control max-age"
    asked = retry_after("9" * 400, NOW)
    assert seconds(plan_failure(NOW, 60, 0, 3600, retry_after_seconds=asked).next_at) == 3600
    # a date no calendar holds is no date
    assert retry_after("Tue, 01 Sep 99999999999999999999 12:05:00 GMT", NOW) is None
    assert retry_after("Tue, 01 Sep 2026 12:05:00 +99999999999999999999", NOW) is None
    # an interval stored before it had a maximum plans a date we can hold
    for plan in (plan_success(NOW, 10**18, 3600), plan_failure(NOW, 10**18, 7, 3600)):
        assert seconds(plan.next_at) == LONGEST_WAIT_SECONDS


HEADER_NAMES = st.sampled_from(
    ["Cache-Control", "cache-control", "Age", "Retry-After", "retry-after", "ETag", "Expires"]
)
HEADER_VALUES = st.one_of(
    st.text(max_size=60),
    st.from_regex(r"\A(max-age|no-cache|public|s-maxage)?=?\"?[0-9²٣]{0,30}\"?(, ?max-age=\d+)?\Z"),
    st.from_regex(
        r"\A(Mon|Tue), [0-9]{1,25} (Sep|Foo) [0-9]{1,25} [0-9:]{1,12} (GMT|[+-][0-9]{1,22})\Z"
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    status=st.integers(min_value=100, max_value=599),
    headers=st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=4),
    interval=st.integers(min_value=1, max_value=30 * 86400),
    failures=st.integers(min_value=0, max_value=10_000),
    max_delay=st.integers(min_value=1, max_value=86400),
    jitter=st.floats(min_value=-0.1, max_value=0.1),
)
@example(429, {"Retry-After": "²"}, 60, 0, 3600, 0.0)
@example(200, {"Cache-Control": "max-age=" + "9" * 400}, 60, 0, 3600, 0.0)
@example(200, {"Cache-Control": "max-age=60", "Age": "²"}, 60, 0, 3600, 0.0)
@example(503, {"Retry-After": "Tue, 01 Sep 99999999999999999999 12:05:00 GMT"}, 60, 0, 60, 0.0)
def test_any_answer_plans_a_next_poll_within_the_caps(
    status: int,
    headers: dict[str, str],
    interval: int,
    failures: int,
    max_delay: int,
    jitter: float,
) -> None:
    """Whatever status and headers an upstream answers, the pure policy plans a next poll, no
    sooner than now and no later than the longest wait the settings allow (jitter included)."""
    outcome = classify(status)
    longest = max(max_delay, interval) * 1.1 + 1e-6
    fresh = fresh_for(headers)
    asked = retry_after(headers.get("Retry-After") or headers.get("retry-after"), NOW)
    assert fresh is None or fresh >= 0
    assert asked is None or asked >= 0
    if outcome in ("ok", "not-modified"):
        plan = plan_success(NOW, interval, max_delay, fresh=fresh)
        assert plan.failures == 0
    else:
        plan = plan_failure(
            NOW, interval, failures, max_delay, retry_after_seconds=asked, jitter=jitter
        )
        assert plan.failures == failures + 1
    assert 0 <= seconds(plan.next_at) <= longest
