"""SSRF: no outbound target the API takes may point inside (loopback, private, link-local, cloud
metadata, and the same hidden in other spellings). Each creator of a target is refused with a
``422`` problem naming the reason, and nothing is stored.

``CREATORS`` lists every way a client hands us a URL we will call later: webhook subscriptions
(created or patched), WebSub callbacks, and upstream sources. A new one joins with one entry: a
function that posts the URL and one that lists what was stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import redis
import requests

from shared import keys
from shared.redis_conn import text
from shared.redis_server import RedisServer
from shared.settings import get_settings
from tests.integration.security.conftest import API_ADMIN, assert_problem, bearer, serving

#: targets that resolve inside; none is ever contacted (refusal happens before any connection)
HOSTILE_TARGETS = [
    "http://127.0.0.1/hook",
    "https://127.0.0.1:8443/hook",
    "http://localhost/hook",
    "http://LOCALHOST./hook",
    "http://127.1/hook",
    "http://0177.0.0.1/hook",
    "http://0x7f.0.0.1/hook",
    "http://2130706433/hook",
    "http://0.0.0.0/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[0:0:0:0:0:ffff:7f00:1]/hook",
    "http://[::ffff:a9fe:a9fe]/latest/meta-data/",
    "http://169.254.169.254/latest/meta-data/iam/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://10.0.0.1/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.1/hook",
    "http://100.64.0.1/hook",
    "http://[fe80::1]/hook",
    "http://[fc00::1]/hook",
    "http://[64:ff9b::7f00:1]/hook",
    "http://[2002:7f00:1::1]/hook",
    "http://224.0.0.1/hook",
    "https://user:pass@partner.invalid/hook",
    "ftp://partner.invalid/hook",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_FLUSHALL",
    "dict://127.0.0.1:6379/info",
    "javascript:alert(1)",
    "http:///hook",
    "http://[::1/hook",
    "http://[::1]x/hook",
    "http://partner.invalid:99999/hook",
    "https://no-such-host.invalid/hook",
]


@dataclass(frozen=True)
class Creator:
    """One way to hand the API an outbound URL, and how to see what it stored."""

    name: str
    create: Callable[[str, str], requests.Response]  # (api, url) -> answer
    stored: Callable[[str], list[str]]  # api -> the target URLs it holds


def _subscribe(api: str, url: str) -> requests.Response:
    return requests.post(
        f"{api}/v1/subscriptions", json={"url": url}, headers=bearer(API_ADMIN), timeout=10
    )


def _subscriptions(api: str) -> list[str]:
    items = requests.get(f"{api}/v1/subscriptions", headers=bearer(API_ADMIN), timeout=10)
    return [item["url"] for item in items.json()["items"]]


def _patch_url(api: str, url: str) -> requests.Response:
    """An existing subscription pointed inside by PATCH."""
    existing = [
        item["id"]
        for item in requests.get(
            f"{api}/v1/subscriptions", headers=bearer(API_ADMIN), timeout=10
        ).json()["items"]
        if item["url"] == SAFE_TARGET
    ]
    return requests.patch(
        f"{api}/v1/subscriptions/{existing[0]}",
        json={"url": url},
        headers=bearer(API_ADMIN),
        timeout=10,
    )


def _websub(api: str, url: str) -> requests.Response:
    return requests.post(
        f"{api}/websub",
        data={"hub.mode": "subscribe", "hub.topic": f"{api}/feeds/all.rss", "hub.callback": url},
        timeout=10,
    )


def _websub_intents(api: str) -> list[str]:
    client = redis.Redis.from_url(get_settings().effective_redis_url())
    prefix = keys.websub_intent("")
    found = [text(key) for key in client.scan_iter(f"{prefix}*")]
    client.close()
    return found


def _source(api: str, url: str) -> requests.Response:
    return requests.post(
        f"{api}/v1/sources",
        json={"name": "hostile upstream", "url": url},
        headers=bearer(API_ADMIN),
        timeout=10,
    )


def _sources(api: str) -> list[str]:
    items = requests.get(f"{api}/v1/sources", headers=bearer(API_ADMIN), timeout=10)
    return [item.get("url") or "" for item in items.json()["items"]]


CREATORS = [
    Creator("webhook subscription", _subscribe, _subscriptions),
    Creator("webhook subscription PATCH", _patch_url, _subscriptions),
    Creator("WebSub callback", _websub, _websub_intents),
    Creator("source", _source, _sources),
]
SAFE_TARGET = "https://203.0.114.10/hook"  # a public address: stored, never called here


@pytest.fixture(scope="module")
def guarded_api(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The API with the SSRF guard at full strength (no allowed networks, no plain http)."""
    with serving(redis_server, tmp_path_factory.mktemp("ssrf")) as base_url:
        assert _subscribe(base_url, SAFE_TARGET).status_code == 201
        yield base_url


@pytest.mark.parametrize("creator", CREATORS, ids=lambda c: c.name)
@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_hostile_targets_are_refused_and_nothing_is_stored(
    guarded_api: str, creator: Creator, target: str
) -> None:
    before = creator.stored(guarded_api)
    response = creator.create(guarded_api, target)
    if creator.name == "WebSub callback" and response.status_code == 400:
        body = assert_problem(response, 400, "hub.callback")  # not even an http(s) URL
    else:
        body = assert_problem(response, 422)
        assert body["type"].endswith(("/target-refused", "/validation", "/invalid-input")), body
    assert creator.stored(guarded_api) == before
    assert "pass@" not in response.text, "credentials in a URL are never echoed"
    assert target not in _subscriptions(guarded_api)


@pytest.mark.parametrize(
    "target",
    ["http://127.0.0.1/hook", "http://169.254.169.254/", "http://[::ffff:10.0.0.1]/"],
)
def test_the_refusal_names_the_range_and_the_setting(guarded_api: str, target: str) -> None:
    body = assert_problem(_subscribe(guarded_api, target), 422)
    assert "SYNDICATE_WEBHOOK_ALLOWED_NETWORKS" in str(body["detail"])
    assert any(word in str(body["detail"]) for word in ("loopback", "metadata", "private"))


def test_plain_http_to_a_public_address_is_refused_by_default(guarded_api: str) -> None:
    body = assert_problem(_subscribe(guarded_api, "http://203.0.114.10/hook"), 422)
    assert "SYNDICATE_WEBHOOK_ALLOW_HTTP" in str(body["detail"])
