"""Polite polling, pure: when the next poll comes after a success, a 304, a 429/503 with
Retry-After, an error; backoff and recovery; Cache-Control; conditional headers; 301s."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.ingest.sources.policy import (
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
