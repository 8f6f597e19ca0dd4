"""The rate limit's rule (GCRA), who a client is, and what is counted: no server needed."""

from __future__ import annotations

from typing import Any

import pytest

from shared.ratelimit import Limit, address_key, counted, gcra, identify
from shared.settings import Settings

SECOND = 1_000_000


def run(limit: Limit, times_us: list[int]) -> list[bool]:
    """Feed requests at the given times (µs) through the pure rule; which were allowed."""
    tat: int | None = None
    allowed = []
    for now in times_us:
        verdict, new_tat = gcra(tat, now, limit)
        allowed.append(verdict.allowed)
        if new_tat is not None:
            tat = new_tat
    return allowed


def test_a_burst_is_allowed_at_once_and_the_next_request_is_not() -> None:
    limit = Limit(per_second=2, burst=5)
    assert run(limit, [0] * 6) == [True] * 5 + [False]


def test_after_a_burst_requests_pass_again_at_the_sustained_rate() -> None:
    limit = Limit(per_second=2, burst=5)
    tat: int | None = None
    for _ in range(5):
        verdict, tat = gcra(tat, 0, limit)
    refused, unchanged = gcra(tat, 0, limit)
    assert not refused.allowed and unchanged is None
    # half a second (one emission interval) later exactly one more goes through
    assert refused.retry_after_us == SECOND // 2
    assert refused.retry_after_seconds == 1
    verdict, tat = gcra(tat, SECOND // 2, limit)
    assert verdict.allowed
    assert not gcra(tat, SECOND // 2, limit)[0].allowed


def test_remaining_counts_down_through_a_burst() -> None:
    limit = Limit(per_second=10, burst=3)
    tat: int | None = None
    remaining = []
    for _ in range(3):
        verdict, tat = gcra(tat, 0, limit)
        remaining.append(verdict.remaining)
    assert remaining == [2, 1, 0]


def test_the_defaults_never_throttle_a_wire_posting_500_stories_a_second() -> None:
    fields = Settings.model_fields  # the defaults, whatever this process's environment says
    limit = Limit(
        fields["rate_limit_token_per_second"].default, fields["rate_limit_token_burst"].default
    )
    ten_seconds = [i * SECOND // 500 for i in range(5000)]
    assert all(run(limit, ten_seconds))
    # and a burst of 1000 stories at once (a wire catching up after an outage) is fine too
    assert all(run(limit, [0] * 1000))


def test_a_client_far_over_its_rate_is_held_to_it() -> None:
    limit = Limit(per_second=100, burst=10)
    flood = [i * 100 for i in range(100_000)]  # 10 000 requests a second for ten seconds
    allowed = sum(run(limit, flood))
    assert 1000 <= allowed <= 1000 + 10 + 1


def test_idle_time_does_not_bank_more_than_the_burst() -> None:
    limit = Limit(per_second=1, burst=3)
    assert run(limit, [0, 3600 * SECOND, 3600 * SECOND, 3600 * SECOND, 3600 * SECOND]) == [
        True,
        True,
        True,
        True,
        False,
    ]


@pytest.mark.parametrize(
    ("address", "bucket"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("not-an-address", "not-an-address"),
    ],
)
def test_addresses_share_a_bucket_per_host_or_ipv6_64(address: str, bucket: str) -> None:
    assert address_key(address) == bucket


def _scope(authorization: str | None = None, client: str = "198.51.100.4") -> dict[str, Any]:
    headers = [(b"authorization", authorization.encode())] if authorization else []
    return {"type": "http", "headers": headers, "client": (client, 50000)}


def _settings(**values: Any) -> Settings:
    return Settings(
        _env_file=None,
        api_tokens="admin-secret-token",
        ingest_tokens="ingest-secret-token",
        rate_limit_token_per_second=100,
        rate_limit_token_burst=7,
        rate_limit_anonymous_per_second=3,
        rate_limit_anonymous_burst=4,
        **values,
    )


@pytest.mark.parametrize("token", ["admin-secret-token", "ingest-secret-token"])
def test_a_known_token_is_its_own_client_with_the_token_limit(
    token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings()
    monkeypatch.setattr("shared.auth.get_settings", lambda: settings)
    client, limit = identify(_scope(f"Bearer {token}"), settings)
    assert client.startswith("token:") and token not in client
    assert limit == Limit(100, 7)
    # the same token from another address is the same client
    assert identify(_scope(f"Bearer {token}", "192.0.2.99"), settings)[0] == client


@pytest.mark.parametrize("authorization", [None, "Bearer made-up-token", "Basic abc", "Bearer "])
def test_without_a_known_token_the_client_is_its_address(
    authorization: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown token must not buy a fresh bucket: it counts against the address."""
    settings = _settings()
    monkeypatch.setattr("shared.auth.get_settings", lambda: settings)
    client, limit = identify(_scope(authorization), settings)
    assert client == "addr:198.51.100.4"
    assert limit == Limit(3, 4)


@pytest.mark.parametrize(
    ("method", "path", "with_feeds", "expected"),
    [
        ("GET", "/healthz", True, False),
        ("GET", "/readyz", True, False),
        ("GET", "/feeds/all.rss", False, False),
        ("HEAD", "/feeds/sections/world/archive/2026-03-04-1.atom", False, False),
        ("GET", "/feeds", False, False),
        ("GET", "/feeds/all.rss", True, True),
        ("GET", "/feedsX", False, True),
        ("POST", "/feeds/all.rss", False, True),
        ("GET", "/v1/stories", False, True),
        ("POST", "/websub", False, True),
        ("POST", "/v1/wire", False, True),
        ("GET", "/metrics", False, True),
    ],
)
def test_what_is_counted(method: str, path: str, with_feeds: bool, expected: bool) -> None:
    assert counted(method, path, _settings(rate_limit_feeds=with_feeds)) is expected


def test_a_lease_is_a_twentieth_of_the_rate_or_burst_and_one_for_small_limits() -> None:
    from shared.ratelimit import lease_size

    assert lease_size(Limit(1000, 2000)) == 50  # the default token limit
    assert lease_size(Limit(1000, 100)) == 5  # the burst bounds it too
    assert lease_size(Limit(50, 200)) == 2
    assert lease_size(Limit(0.5, 5)) == 1
    assert lease_size(Limit(10, 1)) == 1


def test_a_lease_is_spent_locally_then_runs_out() -> None:
    from shared.ratelimit import Leases

    leases = Leases(seconds=1.0)
    assert not leases.spend("a", 0.0), "nothing held yet: ask Redis"
    leases.keep("a", 3, 0.0)  # three paid for, one of them spent by the request that took it
    assert [leases.spend("a", 0.1) for _ in range(3)] == [True, True, False]
    assert not leases.spend("b", 0.1), "a lease is its client's alone"


def test_an_unspent_lease_expires_and_a_single_grant_holds_nothing() -> None:
    from shared.ratelimit import Leases

    leases = Leases(seconds=1.0)
    leases.keep("a", 10, 0.0)
    assert leases.spend("a", 0.5)
    assert not leases.spend("a", 1.0), "expired: the rest is forfeit, never extra budget"
    leases.keep("a", 1, 2.0)
    assert not leases.spend("a", 2.0)


def test_leases_kept_are_bounded_by_sweeping_expired_ones() -> None:
    from shared.ratelimit import Leases

    leases = Leases(seconds=1.0, kept=10)
    for n in range(10):
        leases.keep(f"old-{n}", 5, 0.0)
    leases.keep("new", 5, 5.0)  # the old ones have expired: swept
    assert len(leases._left) == 1
    assert leases.spend("new", 5.1)
