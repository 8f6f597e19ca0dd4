"""``/v1/sources`` over real HTTP (the app in-process, a Redis database, no workers): the
contract, every refusal as problem+json, the schedule each change leaves."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from services.ingest.sources import store
from services.ingest.sources.model import PendingRequest
from shared import keys
from shared.settings import get_settings
from tests.conftest import _clear_caches
from tests.support.api_server import serve_app

AUTH = {"Authorization": "Bearer test-token"}


@pytest.fixture
def app(redis_db: redis.Redis, settings_env: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    settings_env.setenv("SYNDICATE_SOURCE_MIN_INTERVAL_SECONDS", "10")
    settings_env.setenv("SYNDICATE_SOURCE_ALLOWED_NETWORKS", "127.0.0.0/8")
    settings_env.setenv("SYNDICATE_SOURCE_FOLDER_ROOTS", str(tmp_path / "drop"))
    _clear_caches()
    with serve_app() as base_url:
        yield base_url


def post(
    base: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> requests.Response:
    return requests.post(
        f"{base}/v1/sources", json=body, headers=AUTH if headers is None else headers, timeout=10
    )


def problem(answer: requests.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    return dict(answer.json())


def test_create_read_list_update_delete(app: str, redis_db: redis.Redis, tmp_path: Path) -> None:
    made = post(app, {"name": "Wire", "url": "http://127.0.0.1:9/feed.xml", "agency": "AFP"})
    assert made.status_code == 201, made.text
    source = made.json()
    assert source["kind"] == "feed" and source["interval_seconds"] == 300
    assert source["timeout_seconds"] == get_settings().source_timeout_seconds
    assert source["health"]["status"] == "new" and source["health"]["items_taken"] == 0
    assert source["health"]["next_poll_at"] is not None  # polled at once
    assert source["websub"]["state"] == "none"
    assert redis_db.zscore(keys.sources_due(), source["id"]) is not None

    folder = post(app, {"name": "Desk", "path": str(tmp_path / "drop" / "desk"), "enabled": False})
    assert folder.status_code == 201 and folder.json()["websub"] is None
    assert redis_db.zscore(keys.sources_due(), folder.json()["id"]) is None  # disabled: not due

    listed = requests.get(f"{app}/v1/sources", headers=AUTH, timeout=10).json()["items"]
    assert [s["name"] for s in listed] == ["Wire", "Desk"]

    url = f"{app}/v1/sources/{source['id']}"
    changed = requests.patch(
        url, json={"interval_seconds": 60, "agency": "reuters"}, headers=AUTH, timeout=10
    )
    assert changed.status_code == 200
    assert changed.json()["interval_seconds"] == 60 and changed.json()["agency"] == "Reuters"
    off = requests.patch(url, json={"enabled": False}, headers=AUTH, timeout=10).json()
    assert off["health"]["status"] == "disabled" and "by a user" in off["disabled_reason"]
    assert redis_db.zscore(keys.sources_due(), source["id"]) is None
    on = requests.patch(url, json={"enabled": True}, headers=AUTH, timeout=10).json()
    assert on["disabled_reason"] is None and redis_db.zscore(keys.sources_due(), source["id"])

    taken = requests.get(f"{url}/items", headers=AUTH, timeout=10).json()
    assert taken == {"total": 0, "items": []}
    assert requests.post(f"{url}/poll", headers=AUTH, timeout=10).status_code == 202
    assert requests.delete(url, headers=AUTH, timeout=10).status_code == 204
    assert not redis_db.exists(keys.source(source["id"]))
    assert redis_db.zscore(keys.sources_due(), source["id"]) is None
    problem(requests.get(url, headers=AUTH, timeout=10), 404)
    problem(requests.delete(url, headers=AUTH, timeout=10), 404)


def test_every_route_needs_the_token(app: str) -> None:
    problem(post(app, {"name": "x", "url": "http://127.0.0.1/"}, headers={}), 401)
    for path in ("/v1/sources", "/v1/sources/src_x", "/v1/sources/src_x/items"):
        problem(requests.get(f"{app}{path}", timeout=10), 401)
    wrong = {"Authorization": "Bearer nope"}
    problem(requests.get(f"{app}/v1/sources", headers=wrong, timeout=10), 401)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"name": "x"}, "either url"),
        ({"name": "x", "url": "http://127.0.0.1/", "path": "/tmp/x"}, "either url"),
        ({"name": "x", "url": "http://127.0.0.1/", "interval_seconds": 9}, "MIN_INTERVAL"),
        ({"name": "x", "url": "http://127.0.0.1/", "format": "nitf"}, "can be read as"),
        ({"name": "x", "url": "http://10.1.2.3/feed"}, "SYNDICATE_SOURCE_ALLOWED_NETWORKS"),
        ({"name": "x", "url": "ftp://127.0.0.1/feed"}, "only http and https"),
        ({"name": "x", "path": "/etc"}, "SYNDICATE_SOURCE_FOLDER_ROOTS"),
        ({"name": "x", "path": "relative/dir"}, "absolute"),
    ],
)
def test_refusals_say_what_is_wrong(app: str, body: dict[str, Any], where: str) -> None:
    assert where in problem(post(app, body), 422)["detail"]


def test_malformed_requests_are_422(app: str) -> None:
    problem(post(app, {"url": "http://127.0.0.1/"}), 422)  # no name
    problem(post(app, {"name": "x", "url": "http://127.0.0.1/", "secret": "?"}), 422)
    made = post(app, {"name": "x", "url": "http://127.0.0.1/"}).json()
    patch = requests.patch(
        f"{app}/v1/sources/{made['id']}", json={"colour": "red"}, headers=AUTH, timeout=10
    )
    problem(patch, 422)
    path_on_feed = requests.patch(
        f"{app}/v1/sources/{made['id']}", json={"path": "/tmp"}, headers=AUTH, timeout=10
    )
    assert "a feed has a url" in problem(path_on_feed, 422)["detail"]


def test_the_callback_answers_nothing_it_did_not_ask_for(app: str) -> None:
    made = post(app, {"name": "x", "url": "http://127.0.0.1/"}).json()
    callback = f"{app}/websub/callback/{made['id']}"
    check = {"hub.mode": "subscribe", "hub.topic": "http://127.0.0.1/", "hub.challenge": "c"}
    problem(requests.get(callback, params=check, timeout=10), 404)
    problem(requests.post(callback, data=b"<rss/>", timeout=10), 410)
    problem(requests.get(f"{app}/websub/callback/src_nope", params=check, timeout=10), 404)


def test_the_openapi_description_lists_the_routes(app: str) -> None:
    paths = requests.get(f"{app}/openapi.json", timeout=10).json()["paths"]
    assert {
        "/v1/sources",
        "/v1/sources/{source_id}",
        "/v1/sources/{source_id}/poll",
        "/v1/sources/{source_id}/items",
        "/websub/callback/{source_id}",
    } <= set(paths)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"name": "x", "path": "/drop/a\u0000b"}, "control character"),
        ({"name": "x", "url": "http://127.0.0.1/\u0000"}, "control character"),
        ({"name": "x", "url": "http://127.0.0.1/a\nHost: evil"}, "control character"),
        ({"name": "   ", "url": "http://127.0.0.1/"}, "blank"),
        ({"name": "x", "url": "http://127.0.0.1/", "interval_seconds": 10**18}, "interval"),
        ({"name": "x", "url": "http://127.0.0.1/", "interval_seconds": 2_592_001}, "interval"),
    ],
)
def test_what_a_client_may_send_is_refused_not_a_500(
    app: str, body: dict[str, Any], where: str
) -> None:
    assert where in json.dumps(problem(post(app, body), 422))


def test_a_path_that_cannot_be_resolved_is_refused(app: str, tmp_path: Path) -> None:
    """Before the control-character rule, a NUL reached ``Path.resolve`` (``ValueError``)."""
    root = tmp_path / "drop"
    root.mkdir(parents=True, exist_ok=True)
    (root / "a").symlink_to(root / "b")
    (root / "b").symlink_to(root / "a")
    assert (
        "cannot be resolved"
        in problem(post(app, {"name": "x", "path": str(root / "a")}), 422)["detail"]
    )


def test_a_patch_is_held_to_the_same_limits(app: str) -> None:
    made = post(app, {"name": "x", "url": "http://127.0.0.1/"}).json()
    url = f"{app}/v1/sources/{made['id']}"
    for patch in ({"interval_seconds": 10**18}, {"name": " "}, {"url": "http://127.0.0.1/\r"}):
        problem(requests.patch(url, json=patch, headers=AUTH, timeout=10), 422)


def pending_subscription(client: redis.Redis, source_id: str, topic: str) -> None:
    now = store.redis_now(client)
    asked = PendingRequest(
        mode="subscribe",
        hub="http://127.0.0.1:9/hub",
        topic=topic,
        secret="sekrit",
        lease_seconds=3600,
        requested_at=now,
    )
    store.update_websub(
        client, source_id, lambda state: state.model_copy(update={"pending": asked})
    )


@pytest.mark.parametrize(
    ("lease", "granted"), [("9" * 15, 365 * 86400), ("9" * 400, 365 * 86400), ("²", 3600)]
)
def test_the_callback_reads_any_lease_a_hub_grants(
    app: str, redis_db: redis.Redis, lease: str, granted: int
) -> None:
    made = post(app, {"name": "x", "url": "http://127.0.0.1:9/t"}).json()
    pending_subscription(redis_db, made["id"], "http://127.0.0.1:9/t")
    check = {
        "hub.mode": "subscribe",
        "hub.topic": "http://127.0.0.1:9/t",
        "hub.challenge": "c-1",
        "hub.lease_seconds": lease,
    }
    answer = requests.get(f"{app}/websub/callback/{made['id']}", params=check, timeout=10)
    assert (answer.status_code, answer.text) == (200, "c-1")
    loaded = store.load(redis_db, made["id"])
    assert loaded is not None and loaded[2] is not None and loaded[2].lease_seconds == granted


def test_the_callback_answers_any_push_with_a_status_a_hub_understands(
    app: str, redis_db: redis.Redis
) -> None:
    made = post(app, {"name": "x", "url": "http://127.0.0.1:9/t"}).json()
    pending_subscription(redis_db, made["id"], "http://127.0.0.1:9/t")
    callback = f"{app}/websub/callback/{made['id']}"
    odd = json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "t", "hubs": 5, "items": []}
    ).encode()
    signed = "sha256=" + hmac.new(b"sekrit", odd, hashlib.sha256).hexdigest()
    kept = requests.post(
        callback,
        data=odd,
        headers={"Content-Type": "application/feed+json", "X-Hub-Signature": signed},
        timeout=10,
    )
    assert kept.status_code == 202 and kept.json()["taken"] == 0
    assert "hubs is int" in kept.json()["detail"]
    (wire_id,) = kept.json()["items"]  # the pushed document, kept and quarantined
    wire = requests.get(f"{app}/v1/wire/{wire_id}", timeout=10).json()
    assert wire["status"] == "quarantined"
    for signature in ("sha256=\u00e9", "sha256=\u00ff" * 3):  # latin-1 on the wire
        refused = requests.post(
            callback, data=b"<rss/>", headers={"X-Hub-Signature": signature}, timeout=10
        )
        problem(refused, 403)
