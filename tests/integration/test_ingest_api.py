"""``POST /v1/wire`` answers 422 at once for copy that cannot be read, and keeps that copy in the
quarantine; readable copy of an unknown kind is accepted (the task quarantines it later)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
import requests

from shared import keys
from shared.redis_server import RedisServer
from tests.conftest import DB_INGEST_API, _clear_caches, redis_url
from tests.support.api_server import serve_app
from tests.unit.test_xml_safety import BILLION_LAUGHS, XXE

AUTH = {"Authorization": "Bearer test-token"}


@pytest.fixture
def ingest_api(
    redis_server: RedisServer, settings_env: pytest.MonkeyPatch
) -> Iterator[tuple[str, redis.Redis]]:
    url = redis_url(redis_server, DB_INGEST_API)
    settings_env.setenv("SYNDICATE_REDIS_URL", url)
    settings_env.setenv("SYNDICATE_API_TOKENS", "test-token")
    client = redis.Redis.from_url(url)
    client.flushdb()
    _clear_caches()
    with serve_app() as base:
        yield base, client
    client.flushdb()
    client.close()


def post(base: str, body: bytes, content_type: str) -> requests.Response:
    return requests.post(
        f"{base}/v1/wire", data=body, headers={**AUTH, "Content-Type": content_type}, timeout=10
    )


def assert_kept_in_quarantine(base: str, client: redis.Redis, wire_id: str, words: str) -> None:
    item = requests.get(f"{base}/v1/wire/{wire_id}", timeout=10).json()
    assert item["status"] == "quarantined" and words in item["error"]["detail"]
    listed = requests.get(f"{base}/v1/quarantine", timeout=10).json()
    assert wire_id in [i["id"] for i in listed["items"]]
    assert client.hget(keys.wire(wire_id), "body")


def test_malformed_xml_is_422_with_line_and_column_and_is_kept(
    ingest_api: tuple[str, redis.Redis],
) -> None:
    base, client = ingest_api
    response = post(
        base, b"<?xml version='1.0'?>\n<nitf>\n<body></bodi></nitf>", "application/nitf+xml"
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert (problem["line"], problem["column"]) == (3, 14)
    assert "line 3, column 14" in problem["detail"]
    assert_kept_in_quarantine(base, client, problem["resource"], "line 3")
    queued = [k for k in client.keys(f"{keys.celery_prefix()}*") if k.endswith(b"ingest")]
    assert not queued, "unreadable copy must not be sent to the parser"


def test_malformed_json_is_422(ingest_api: tuple[str, redis.Redis]) -> None:
    base, client = ingest_api
    response = post(base, b'{"uri": "u",\n "headline": }', "application/ninjs+json")
    assert response.status_code == 422
    assert response.json()["line"] == 2
    assert_kept_in_quarantine(base, client, response.json()["resource"], "JSON")


@pytest.mark.parametrize("document", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_entity_bombs_and_xxe_are_refused(
    ingest_api: tuple[str, redis.Redis], document: bytes
) -> None:
    base, client = ingest_api
    response = post(base, document, "application/xml")
    assert response.status_code == 422
    assert "entit" in response.json()["detail"]
    assert "root:" not in response.text  # nothing of /etc/passwd
    assert_kept_in_quarantine(base, client, response.json()["resource"], "entit")


def test_bytes_invalid_in_the_declared_charset_are_422(ingest_api: tuple[str, redis.Redis]) -> None:
    base, client = ingest_api
    response = post(base, b"Caf\xe9 opens on the quay\n\nBody.", "text/plain; charset=utf-8")
    assert response.status_code == 422 and "byte 3" in response.json()["detail"]
    assert_kept_in_quarantine(base, client, response.json()["resource"], "byte 3")


def test_readable_copy_of_an_unknown_kind_is_accepted(ingest_api: tuple[str, redis.Redis]) -> None:
    base, _ = ingest_api
    response = post(base, b"<?xml version='1.0'?><unknown-root/>", "application/xml")
    assert response.status_code == 202
    legacy = post(base, "Zoë’s café opens on the quay\n\nBody.".encode("cp1252"), "text/plain")
    assert legacy.status_code == 202


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"Harbour opens today\n\nBody.", "text/plain; charset=rot13"),
        (b"Harbour opens today\n\nBody.", "text/plain; charset=base64"),
        (b"<?xml version='1.0' encoding='base64'?><nitf/>", "application/xml"),
        (b"<?xml version='1.0' encoding='zlib'?><nitf/>", "application/octet-stream"),
    ],
    ids=["rot13", "base64", "xml-declaration-base64", "xml-declaration-zlib"],
)
def test_a_codec_that_is_no_charset_is_422_and_the_copy_is_kept(
    ingest_api: tuple[str, redis.Redis], body: bytes, content_type: str
) -> None:
    base, client = ingest_api
    response = post(base, body, content_type)
    assert response.status_code == 422, response.text
    assert "not a text encoding" in response.json()["detail"]
    assert_kept_in_quarantine(base, client, response.json()["resource"], "not a text encoding")


def test_a_failing_pre_check_still_keeps_the_copy(
    ingest_api: tuple[str, redis.Redis], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever goes wrong while reading the copy (here: a bug), nothing the client sent is lost."""
    from services.ingest import api

    def broken(body: bytes, content_type: str) -> None:
        raise RuntimeError("a bug in the pre-check")

    monkeypatch.setattr(api, "precheck", broken)
    base, client = ingest_api
    response = post(base, b"Harbour opens today\n\nBody.", "text/plain")
    assert response.status_code == 422, response.text
    assert_kept_in_quarantine(base, client, response.json()["resource"], "a bug in the pre-check")
