"""Rate limits over real HTTP: 429 problem with Retry-After, per token or address, shared by every
API process through Redis; feeds and probes not counted; Redis down lets requests through."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from shared.ratelimit import Limit, Limiter, gcra
from shared.redis_server import RedisServer, free_port
from shared.settings import Settings
from tests.conftest import redis_url
from tests.integration.security.conftest import (
    API_ADMIN,
    API_INGEST,
    DB_SECURITY,
    assert_problem,
    bearer,
    serving,
)
from tests.support.service import Service
from tests.support.waiting import wait_for

LIMITS = {
    "RATE_LIMIT_ANONYMOUS_PER_SECOND": "0.5",
    "RATE_LIMIT_ANONYMOUS_BURST": "3",
    "RATE_LIMIT_TOKEN_PER_SECOND": "0.5",
    "RATE_LIMIT_TOKEN_BURST": "5",
    "API_TOKENS": f"{API_ADMIN},second-admin-token",
}


@pytest.fixture(scope="module")
def limited_api(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with serving(redis_server, tmp_path_factory.mktemp("limited"), **LIMITS) as base_url:
        yield base_url


def client_address() -> dict[str, str]:
    """A fresh client address for each test: loopback is a trusted proxy (uvicorn's
    forwarded_allow_ips), so X-Forwarded-For names the client as a reverse proxy would."""
    n = uuid.uuid4().int
    return {"X-Forwarded-For": f"198.51.{n % 250}.{n // 250 % 250 + 1}"}


def get(base: str, path: str, headers: dict[str, str]) -> requests.Response:
    return requests.get(f"{base}{path}", headers=headers, timeout=10)


def test_an_address_over_its_burst_gets_429_with_retry_after(limited_api: str) -> None:
    who = client_address()
    answers = [get(limited_api, "/v1/stories", who) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 200]
    refused = get(limited_api, "/v1/stories", who)
    body = assert_problem(refused, 429, "This address", "0.5 requests per second")
    assert refused.headers["retry-after"] == "2"  # one request every 2 s at 0.5/s
    assert body["retry_after"] == 2
    assert body["type"].endswith("/rate-limited")
    # another client is not held up by this one
    assert get(limited_api, "/v1/stories", client_address()).status_code == 200
    # and this one may go on once the interval has passed (a refusal costs nothing)
    wait_for(
        lambda: get(limited_api, "/v1/stories", who).status_code == 200,
        timeout=10,
        interval=0.25,
        message="the address to be let through again",
    )


def test_a_token_is_its_own_client_wherever_it_comes_from(limited_api: str) -> None:
    who = client_address()
    for _ in range(3):
        get(limited_api, "/v1/stories", who)
    assert get(limited_api, "/v1/stories", who).status_code == 429
    token = {**who, **bearer(API_ADMIN)}
    for _ in range(5):  # the token's own burst, from an address that is out of budget
        assert get(limited_api, "/v1/subscriptions", token).status_code == 200
    refused = get(limited_api, "/v1/subscriptions", {**client_address(), **bearer(API_ADMIN)})
    assert_problem(refused, 429, "This token")
    assert API_ADMIN not in refused.text


def test_an_unknown_token_counts_against_the_address(limited_api: str) -> None:
    """Made-up tokens must not buy fresh budgets: each is a 401 charged to the address."""
    who = client_address()
    for n in range(3):
        response = get(limited_api, "/v1/subscriptions", {**who, **bearer(f"guess-{n}")})
        assert response.status_code == 401
    assert get(limited_api, "/v1/subscriptions", {**who, **bearer("guess-4")}).status_code == 429


def test_ingest_and_admin_tokens_have_separate_budgets(limited_api: str) -> None:
    copy = {"Content-Type": "text/plain", **bearer(API_INGEST)}
    codes = [
        requests.post(
            f"{limited_api}/v1/wire", data=b"Budget headline\n\nCopy.", headers=copy, timeout=10
        ).status_code
        for _ in range(6)
    ]
    assert codes == [202] * 5 + [429]
    assert get(limited_api, "/v1/deliveries", bearer("second-admin-token")).status_code == 200


def test_feed_reads_and_probes_are_not_counted(limited_api: str) -> None:
    who = client_address()
    for _ in range(10):
        assert get(limited_api, "/feeds/all.rss", who).status_code == 404  # no feed yet
        assert get(limited_api, "/feeds", who).status_code == 200
        assert get(limited_api, "/healthz", who).status_code == 200
    assert get(limited_api, "/v1/stories", who).status_code == 200


def test_feed_reads_are_counted_when_configured(redis_server: RedisServer, tmp_path: Path) -> None:
    with serving(redis_server, tmp_path, **LIMITS, RATE_LIMIT_FEEDS="true") as base:
        codes = [get(base, "/feeds/all.rss", {}).status_code for _ in range(4)]
        assert codes == [404, 404, 404, 429]
        assert get(base, "/healthz", {}).status_code == 200


def test_the_limiter_can_be_switched_off(redis_server: RedisServer, tmp_path: Path) -> None:
    with serving(redis_server, tmp_path, **LIMITS, RATE_LIMIT_ENABLED="false") as base:
        assert {get(base, "/v1/stories", {}).status_code for _ in range(8)} == {200}


def test_with_redis_down_requests_go_through_to_their_own_503(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    with serving(redis_server, tmp_path, **LIMITS, REDIS_URL=dead) as base:
        for _ in range(5):
            response = get(base, "/v1/stories", {})
            assert_problem(response, 503)
            assert response.headers["retry-after"]


def test_several_api_processes_share_one_budget(redis_server: RedisServer, tmp_path: Path) -> None:
    """`syndicate api` twice (as with --workers 2 or two containers): one budget per token."""
    token = f"shared-budget-{uuid.uuid4().hex[:8]}"
    service = Service(
        redis_url=redis_url(redis_server, DB_SECURITY),
        data_dir=tmp_path,
        token=token,
        env_extra={"SYNDICATE_RATE_LIMIT_TOKEN_PER_SECOND": "0.1",
                   "SYNDICATE_RATE_LIMIT_TOKEN_BURST": "4"},
    )  # fmt: skip
    second_port = free_port()
    try:
        service.start("api")
        service.start("api#2", SYNDICATE_PORT=str(second_port))
        bases = [service.base_url, f"http://127.0.0.1:{second_port}"]

        def both_up() -> bool:
            try:
                return all(get(b, "/healthz", {}).status_code == 200 for b in bases)
            except requests.RequestException:
                return False

        wait_for(both_up, timeout=60, interval=0.2, message="two API processes")
        codes = [
            get(bases[n % 2], "/v1/subscriptions", bearer(token)).status_code for n in range(6)
        ]
        assert codes == [200, 200, 200, 200, 429, 429], service.logs()
    finally:
        service.stop()


def test_the_lua_script_follows_the_rule_exactly(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_url(redis_server, DB_SECURITY))
    limiter = Limiter(client)
    limit = Limit(per_second=4, burst=3)
    who = f"test:{uuid.uuid4().hex}"
    times = [0, 0, 0, 0, 100_000, 250_000, 250_000, 500_000, 500_000, 2_000_000, 2_000_000]
    tat: int | None = None
    for n, now in enumerate(times):
        start = 1_700_000_000_000_000
        expected, new_tat = gcra(tat, start + now, limit)
        tat = new_tat if new_tat is not None else tat
        assert limiter.hit(who, limit, now_us=start + now) == expected, n
    client.close()


def test_a_lease_is_charged_whole_or_falls_back_to_one_request(
    redis_server: RedisServer,
) -> None:
    client = redis.Redis.from_url(redis_url(redis_server, DB_SECURITY))
    limiter = Limiter(client)
    limit = Limit(per_second=100, burst=10)  # capacity: 10 requests at once
    who, start = f"test:{uuid.uuid4().hex}", 1_700_000_000_000_000
    first = limiter.hit(who, limit, now_us=start, cost=4)
    assert first.allowed and first.granted == 4 and first.remaining == 6
    second = limiter.hit(who, limit, now_us=start, cost=4)
    assert second.allowed and second.granted == 4 and second.remaining == 2
    # four cannot be had whole: one request is, exactly as without leases
    third = limiter.hit(who, limit, now_us=start, cost=4)
    assert third.allowed and third.granted == 1 and third.remaining == 1
    assert limiter.hit(who, limit, now_us=start, cost=4).granted == 1
    refused = limiter.hit(who, limit, now_us=start, cost=4)
    assert not refused.allowed and refused.granted == 0
    client.close()


def test_the_defaults_let_a_wire_post_500_stories_a_second_through_redis(
    redis_server: RedisServer,
) -> None:
    client = redis.Redis.from_url(redis_url(redis_server, DB_SECURITY))
    fields = Settings.model_fields  # the defaults, whatever this process's environment says
    limit = Limit(
        fields["rate_limit_token_per_second"].default, fields["rate_limit_token_burst"].default
    )
    limiter, who, start = Limiter(client), f"test:{uuid.uuid4().hex}", 1_800_000_000_000_000
    verdicts = [limiter.hit(who, limit, now_us=start + n * 2000) for n in range(5000)]  # 10 s
    assert all(v.allowed for v in verdicts)
    # the same wire at 5 000 stories a second is held to its rate after the burst
    held = [limiter.hit(who, limit, now_us=start + 10_000_000 + n * 200) for n in range(5000)]
    assert 2000 <= sum(v.allowed for v in held) < 5000
    assert client.ttl(f"syndicate:ratelimit:{who}") > 0
    client.close()
