"""The HTTP contract over real HTTP: status codes, problem+json bodies, durability before 202."""

from __future__ import annotations

import json

import pytest
import redis
import requests

from shared import keys
from tests.integration.conftest import AUTH

PROBLEM = "application/problem+json"


def assert_problem(response: requests.Response, status: int, *words: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= set(body)
    for word in words:
        assert word in json.dumps(body), (word, body)
    return dict(body)


def post(api: str, body: bytes, **headers: str) -> requests.Response:
    return requests.post(f"{api}/v1/wire", data=body, headers=headers, timeout=10)


def test_accepted_copy_is_stored_before_the_answer(api: str, redis_db: redis.Redis) -> None:
    response = post(
        api, b"Headline of a test story\n\nBody.", **AUTH, **{"Content-Type": "text/plain"}
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "accepted" and body["id"].startswith("wire_")
    assert response.headers["location"] == f"/v1/wire/{body['id']}"
    stored = redis_db.hget(keys.wire(body["id"]), "body")
    assert stored == b"Headline of a test story\n\nBody."
    queued = [k for k in redis_db.keys(f"{keys.celery_prefix()}*") if k.endswith(b"ingest")]
    assert queued, "the ingest task was not enqueued"
    item = requests.get(f"{api}/v1/wire/{body['id']}", timeout=10).json()
    assert item["status"] == "accepted" and item["size"] == len(
        b"Headline of a test story\n\nBody."
    )


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic dGVzdA=="}],
)
def test_writing_needs_a_valid_token(api: str, headers: dict[str, str]) -> None:
    response = post(api, b"x", **headers)
    assert_problem(response, 401, "token")
    assert response.headers["www-authenticate"] == "Bearer"


def test_every_configured_token_works(api: str) -> None:
    assert post(api, b"Some copy here", Authorization="Bearer other-token").status_code == 202


def test_empty_body_is_400(api: str) -> None:
    assert_problem(post(api, b"", **AUTH), 400, "empty")
    assert_problem(post(api, b"  \n ", **AUTH), 400, "empty")


def test_oversized_body_is_413(api: str, settings_env: pytest.MonkeyPatch) -> None:
    from shared.settings import get_settings

    settings_env.setenv("SYNDICATE_MAX_BODY_BYTES", "1000")
    get_settings.cache_clear()
    assert_problem(post(api, b"x" * 1001, **AUTH), 413, "1000")

    def chunks() -> object:
        for _ in range(5):
            yield b"y" * 400

    streamed = requests.post(f"{api}/v1/wire", data=chunks(), headers=AUTH, timeout=10)
    assert_problem(streamed, 413, "limit")


def test_unsupported_content_type_is_415(api: str) -> None:
    assert_problem(post(api, b"\x89PNG", **AUTH, **{"Content-Type": "image/png"}), 415, "image/png")


def test_idempotency_key_creates_nothing_new(api: str, redis_db: redis.Redis) -> None:
    headers = {**AUTH, "Idempotency-Key": "abc-123"}
    first = post(api, b"Same copy twice over", **headers).json()
    second = post(api, b"Same copy twice over", **headers).json()
    assert first["id"] == second["id"]
    assert redis_db.zcard(keys.wire_received()) == 1
    other = post(api, b"Same copy twice over", **{**AUTH, "Idempotency-Key": "abc-124"}).json()
    assert other["id"] != first["id"]


def test_unknown_things_are_404_problems(api: str) -> None:
    assert_problem(requests.get(f"{api}/v1/stories/st_nope", timeout=10), 404, "st_nope")
    assert_problem(requests.get(f"{api}/v1/stories/st_nope/versions", timeout=10), 404)
    assert_problem(requests.get(f"{api}/v1/wire/wire_nope", timeout=10), 404)
    assert_problem(requests.get(f"{api}/feeds/nope.rss", timeout=10), 404, "nope")
    assert_problem(requests.get(f"{api}/feeds/all.txt", timeout=10), 404)
    assert_problem(requests.get(f"{api}/feeds/../../etc/passwd.rss", timeout=10), 404)
    assert_problem(requests.get(f"{api}/no/such/route", timeout=10), 404)


def test_quarantine_lists_nothing_at_first(api: str) -> None:
    body = requests.get(f"{api}/v1/quarantine", timeout=10).json()
    assert body == {"total": 0, "items": []}


def test_a_loopback_target_is_refused_without_the_allowlist(api: str) -> None:
    url = f"{api}/v1/subscriptions"
    created = requests.post(
        url,
        json={"url": "http://127.0.0.1:9/hook", "filter": {"sections": ["Science"]}},
        headers=AUTH,
        timeout=10,
    )
    # 127.0.0.1 is not in the allowlist of this test: refused with the reason
    assert_problem(created, 422, "loopback", "SYNDICATE_WEBHOOK_ALLOWED_NETWORKS")


def test_subscription_lifecycle(api: str, settings_env: pytest.MonkeyPatch) -> None:
    from shared.settings import get_settings

    settings_env.setenv("SYNDICATE_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")
    get_settings.cache_clear()
    url = f"{api}/v1/subscriptions"
    assert_problem(requests.post(url, json={"url": "http://127.0.0.1:9/"}, timeout=10), 401)
    created = requests.post(
        url,
        json={"url": "http://127.0.0.1:9/hook", "events": ["story.published"], "description": "d"},
        headers=AUTH,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    sub = created.json()
    assert sub["secret"].startswith("whsec_")
    listed = requests.get(url, headers=AUTH, timeout=10)
    assert "whsec_" not in listed.text
    assert [s["id"] for s in listed.json()["items"]] == [sub["id"]]
    assert sub["description"] == "d"
    one = requests.get(f"{url}/{sub['id']}", headers=AUTH, timeout=10).json()
    assert "secret" not in one and one["events"] == ["story.published"]
    assert one["description"] == "d"
    described = requests.patch(
        f"{url}/{sub['id']}", json={"description": "Partner X, prod"}, headers=AUTH, timeout=10
    ).json()
    assert described["description"] == "Partner X, prod"
    again = requests.get(f"{url}/{sub['id']}", headers=AUTH, timeout=10).json()
    assert again["description"] == "Partner X, prod"
    assert listed.json()["items"][0]["description"] == "d"
    patched = requests.patch(
        f"{url}/{sub['id']}",
        json={"disabled": True, "filter": {"agencies": ["AP"]}},
        headers=AUTH,
        timeout=10,
    ).json()
    assert patched["disabled"] is True and patched["filter"]["agencies"] == ["AP"]
    assert patched["disabled_reason"]
    assert_problem(
        requests.patch(
            f"{url}/{sub['id']}", json={"url": "http://10.0.0.1/"}, headers=AUTH, timeout=10
        ),
        422,
        "10.0.0.0/8",
    )
    assert_problem(
        requests.patch(f"{url}/{sub['id']}", json={"colour": "red"}, headers=AUTH, timeout=10), 422
    )
    deliveries = requests.get(f"{url}/{sub['id']}/deliveries", headers=AUTH, timeout=10).json()
    assert deliveries == {"items": []}
    assert requests.delete(f"{url}/{sub['id']}", headers=AUTH, timeout=10).status_code == 204
    assert_problem(requests.delete(f"{url}/{sub['id']}", headers=AUTH, timeout=10), 404)


@pytest.mark.parametrize(
    "body",
    [
        {"url": "http://10.0.0.1/hook"},
        {"url": "http://169.254.169.254/latest/meta-data"},
        {"url": "https://localhost/hook"},
        {"url": "ftp://example.com/"},
        {"url": "http://127.0.0.1:9/", "events": ["story.exploded"]},
        {"url": "http://127.0.0.1:9/", "events": []},
        {"events": ["story.published"]},
    ],
)
def test_bad_subscriptions_are_422(api: str, body: dict[str, object]) -> None:
    response = requests.post(f"{api}/v1/subscriptions", json=body, headers=AUTH, timeout=10)
    assert_problem(response, 422)


def test_feeds_serve_stored_bytes_with_validators(api: str, redis_db: redis.Redis) -> None:
    from datetime import UTC, datetime

    from shared.feedstore import save_feed

    save_feed(
        redis_db,
        "all",
        "rss",
        b"<rss/>",
        datetime(2026, 3, 4, tzinfo=UTC),
        "application/rss+xml; charset=utf-8",
    )
    response = requests.get(f"{api}/feeds/all.rss", timeout=10)
    assert response.status_code == 200 and response.content == b"<rss/>"
    assert response.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert response.headers["last-modified"] == "Wed, 04 Mar 2026 00:00:00 GMT"
    assert 'rel="hub"' in response.headers["link"] and 'rel="self"' in response.headers["link"]
    etag = response.headers["etag"]
    again = requests.get(f"{api}/feeds/all.rss", headers={"If-None-Match": etag}, timeout=10)
    assert again.status_code == 304 and again.content == b""
    since = requests.get(
        f"{api}/feeds/all.rss",
        headers={"If-Modified-Since": "Wed, 04 Mar 2026 00:00:00 GMT"},
        timeout=10,
    )
    assert since.status_code == 304
    stale = requests.get(f"{api}/feeds/all.rss", headers={"If-None-Match": '"other"'}, timeout=10)
    assert stale.status_code == 200
    # requests asks for gzip by default; the uncompressed length needs identity (issue #4: gzip)
    head = requests.head(
        f"{api}/feeds/all.rss", headers={"Accept-Encoding": "identity"}, timeout=10
    )
    assert head.status_code == 200 and head.headers["content-length"] == "6"


def test_openapi_and_health(api: str) -> None:
    spec = requests.get(f"{api}/openapi.json", timeout=10).json()
    for path in (
        "/v1/wire",
        "/v1/stories/{story_id}",
        "/v1/subscriptions",
        "/v1/quarantine",
        "/readyz",
    ):
        assert path in spec["paths"], path
    assert requests.get(f"{api}/healthz", timeout=10).json() == {"status": "ok"}
    ready = requests.get(f"{api}/readyz", timeout=10)
    assert ready.status_code == 503  # no workers in this test
    assert ready.json()["checks"]["redis"] == "ok"


def test_redis_down_is_503_not_500(api: str, settings_env: pytest.MonkeyPatch) -> None:
    from shared.redis_conn import client_for
    from shared.settings import get_settings

    settings_env.setenv("SYNDICATE_REDIS_URL", "redis://127.0.0.1:1/0")
    get_settings.cache_clear()
    client_for.cache_clear()
    response = post(api, b"Some copy here", **AUTH)
    assert_problem(response, 503, "Retry")
    assert response.headers["retry-after"] == "5"
