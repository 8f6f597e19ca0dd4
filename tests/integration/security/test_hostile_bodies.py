"""Hostile request bodies: 100 MB (declared or streamed), deeply nested JSON, invalid UTF-8, XML
bombs and external entities. Each is refused with its own 4xx problem, never a 5xx; the API
never buffers more than its limit; copy refused at the door is kept in the quarantine."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import psutil
import pytest
import redis
import requests

from shared import keys
from shared.redis_server import RedisServer
from tests.integration.security.conftest import (
    API_ADMIN,
    API_INGEST,
    INGEST_TOKEN,
    assert_problem,
    bearer,
    serving,
)
from tests.support.rawhttp import request, stream_until_refused
from tests.support.service import Service
from tests.support.waiting import wait_for

MB = 1024 * 1024
HUNDRED_MB = 100 * MB


@pytest.fixture(scope="module")
def door(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The in-process API: what is refused at the door needs no worker."""
    with serving(redis_server, tmp_path_factory.mktemp("door")) as base_url:
        yield base_url


def wire(base: str, body: bytes, content_type: str) -> requests.Response:
    headers = {"Content-Type": content_type, **bearer(API_INGEST)}
    return requests.post(f"{base}/v1/wire", data=body, headers=headers, timeout=30)


# --- 100 MB --------------------------------------------------------------------------------


JSON = {"Content-Type": "application/json", **bearer(API_ADMIN)}
WRITE_TARGETS = [
    ("POST", "/v1/wire", {"Content-Type": "text/plain", **bearer(API_INGEST)}),
    ("POST", "/v1/wire", {"Content-Type": "text/plain"}),  # no token: refused all the same
    ("POST", "/v1/subscriptions", JSON),
    ("PATCH", "/v1/subscriptions/sub_x", JSON),
    ("POST", "/websub", {"Content-Type": "application/x-www-form-urlencoded"}),
]
IDS = ["wire", "wire-no-token", "subscription", "patch", "websub"]


@pytest.mark.parametrize(("method", "target", "headers"), WRITE_TARGETS, ids=IDS)
def test_a_declared_100_mb_body_is_refused_before_a_byte_is_sent(
    door: str, method: str, target: str, headers: dict[str, str]
) -> None:
    """Only the headers go out: the 413 comes back without the server waiting for the body."""
    answer = request(door, method, target, {**headers, "Content-Length": str(HUNDRED_MB)})
    assert answer.status == 413, answer
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = json.loads(answer.body)
    assert problem["type"].endswith("/payload-too-large") and str(HUNDRED_MB) in problem["detail"]


@pytest.mark.parametrize(("method", "target", "headers"), WRITE_TARGETS, ids=IDS)
def test_a_streamed_100_mb_body_is_cut_short(
    door: str, method: str, target: str, headers: dict[str, str]
) -> None:
    """Chunked, no length: the server answers once it has read past its limit (1 MiB for
    copy, 64 KiB elsewhere) and reads no further; we could not push the 100 MB."""
    answer = stream_until_refused(door, target, headers, total=HUNDRED_MB, method=method)
    assert answer.status in (401, 413), answer  # 401: no token, refused before the body
    assert answer.sent < 40 * MB, f"the server kept reading: {answer.sent} bytes taken"


def test_the_api_process_stays_small_while_refusing_100_mb_bodies(
    security_service: Service,
) -> None:
    """The real API process (uvicorn): its memory does not grow with what clients send."""
    api = psutil.Process(security_service.procs["api"].pid)
    baseline = api.memory_info().rss
    peak = baseline
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, api.memory_info().rss)
            done.wait(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        copy = {"Content-Type": "text/plain", **bearer(INGEST_TOKEN)}
        for declare in (True, False):
            answer = stream_until_refused(
                security_service.base_url,
                "/v1/wire",
                copy,
                total=HUNDRED_MB,
                chunk_size=MB,
                declare_length=declare,
            )
            assert answer.status == 413, answer
            assert answer.sent < 40 * MB
    finally:
        done.set()
        watcher.join()
    grown = (peak - baseline) / MB
    print(f"API RSS {baseline / MB:.1f} MiB, peak {peak / MB:.1f} MiB (+{grown:.1f} MiB)")
    assert grown < 30, f"the API grew by {grown:.1f} MiB refusing 100 MB bodies"
    # and it still answers
    assert security_service.get("/healthz").status_code == 200


def test_a_body_just_under_the_limit_still_goes_in(door: str) -> None:
    body = b"Limit headline\n\n" + b"word " * ((MB - 100) // 5)
    assert len(body) < MB
    assert wire(door, body, "text/plain").status_code == 202


# --- deeply nested JSON --------------------------------------------------------------------


def test_deeply_nested_json_copy_is_refused_and_quarantined(door: str) -> None:
    body = b'{"headline": "x", "a": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    response = wire(door, body, "application/ninjs+json")
    problem = assert_problem(response, 422, "deeper")
    item = requests.get(f"{door}/v1/wire/{problem['resource']}", timeout=10).json()
    assert item["status"] == "quarantined"


@pytest.mark.parametrize("depth", [100, 5_000, 30_000])
def test_deeply_nested_json_in_an_api_body_is_a_4xx(door: str, depth: int) -> None:
    body = '{"url": "https://x.invalid/", "filter": ' + "[" * depth + "]" * depth + "}"
    response = requests.post(
        f"{door}/v1/subscriptions",
        data=body[: 60 * 1024],
        headers={"Content-Type": "application/json", **bearer(API_ADMIN)},
        timeout=10,
    )
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")


# --- invalid UTF-8 ---------------------------------------------------------------------------

INVALID_UTF8 = [b"\xff\xfe\xfd", b"caf\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]


@pytest.mark.parametrize("bad", INVALID_UTF8)
def test_copy_that_says_utf8_but_is_not_is_a_422_kept_in_quarantine(door: str, bad: bytes) -> None:
    body = b"Broken bytes headline\n\nThe body has " + bad + b" in it."
    response = wire(door, body, "text/plain; charset=utf-8")
    problem = assert_problem(response, 422)
    assert requests.get(f"{door}/v1/wire/{problem['resource']}", timeout=10).json()["status"] == (
        "quarantined"
    )


@pytest.mark.parametrize("bad", INVALID_UTF8)
def test_invalid_utf8_in_api_bodies_and_forms_is_a_4xx(door: str, bad: bytes) -> None:
    json_body = b'{"url": "https://x.invalid/' + bad + b'"}'
    response = requests.post(
        f"{door}/v1/subscriptions",
        data=json_body,
        headers={"Content-Type": "application/json", **bearer(API_ADMIN)},
        timeout=10,
    )
    assert response.status_code in (400, 422), response.text
    form = b"hub.mode=subscribe&hub.topic=x&hub.callback=" + bad
    response = requests.post(
        f"{door}/websub",
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    "path",
    ["/v1/stories/%ff%fe", "/v1/wire/%c0%af", "/v1/stories?section=%ff", "/feeds/%ed%a0%80.rss"],
)
def test_invalid_utf8_in_paths_and_queries_is_never_a_5xx(door: str, path: str) -> None:
    answer = request(door, "GET", path)
    assert 400 <= answer.status < 500 or answer.status == 200, answer


def test_an_idempotency_key_of_raw_bytes_is_taken_or_refused_never_a_5xx(door: str) -> None:
    answer = request(
        door,
        "POST",
        "/v1/wire",
        {
            "Content-Type": "text/plain",
            "Idempotency-Key": "\xff\xfe key",
            **bearer(API_INGEST),
        },
        b"Key headline\n\nBody.",
    )
    assert answer.status in (202, 400, 422), answer


# --- XML bombs and external entities ---------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE nitf [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<nitf><body><body.head><hedline><hl1>&lol9;</hl1></hedline></body.head></body></nitf>"""
QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE nitf [<!ENTITY a "'
    + b"A" * 50_000
    + b'">]><nitf><body><body.head><hedline><hl1>'
    + b"&a;" * 5_000
    + b"</hl1></hedline></body.head></body></nitf>"
)
EXTERNAL_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE nitf [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<nitf><body><body.head><hedline><hl1>&xxe;</hl1></hedline></body.head></body></nitf>"""
EXTERNAL_URL = b"""<?xml version="1.0"?>
<!DOCTYPE nitf [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/secret">]>
<nitf><body><body.head><hedline><hl1>&xxe;</hl1></hedline></body.head></body></nitf>"""
PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE nitf [<!ENTITY % ext SYSTEM "file:///etc/passwd"> %ext;]>
<nitf><body><body.head><hedline><hl1>x</hl1></hedline></body.head></body></nitf>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE nitf SYSTEM "http://127.0.0.1:9/evil.dtd">
<nitf><body><body.head><hedline><hl1>Headline</hl1></hedline></body.head>
<body.content><p>Text.</p></body.content></body></nitf>"""
XINCLUDE = b"""<?xml version="1.0"?>
<nitf xmlns:xi="http://www.w3.org/2001/XInclude"><body><body.head><hedline>
<hl1>XInclude headline</hl1></hedline></body.head><body.content>
<p><xi:include parse="text" href="file:///etc/passwd"/></p></body.content></body></nitf>"""

BOMBS = {
    "billion-laughs": BILLION_LAUGHS,
    "quadratic-blowup": QUADRATIC,
    "external-file": EXTERNAL_FILE,
    "external-url": EXTERNAL_URL,
    "parameter-entity": PARAMETER_ENTITY,
}


@pytest.mark.parametrize("name", sorted(BOMBS))
@pytest.mark.parametrize(
    "content_type", ["application/nitf+xml", "application/xml", "application/rss+xml"]
)
def test_entity_declarations_are_refused_unexpanded_and_kept(
    door: str, redis_server: RedisServer, name: str, content_type: str
) -> None:
    response = wire(door, BOMBS[name], content_type)
    problem = assert_problem(response, 422, "entit")
    assert "root:" not in response.text and "lollol" not in response.text
    assert len(response.content) < 4096
    client = redis.Redis.from_url(f"redis://{redis_server.host}:{redis_server.port}/15")
    assert client.zscore(keys.quarantine(), str(problem["resource"])) is not None
    client.close()


@pytest.mark.parametrize("body", [EXTERNAL_DTD, XINCLUDE], ids=["external-dtd", "xinclude"])
def test_external_dtds_and_xincludes_are_never_fetched_or_read(
    security_service: Service, body: bytes
) -> None:
    """Accepted or refused, the copy never pulls in a file or a URL: no /etc/passwd in the
    story, and nothing in the quarantine error either."""
    response = requests.post(
        f"{security_service.base_url}/v1/wire",
        data=body,
        headers={"Content-Type": "application/nitf+xml", **bearer(INGEST_TOKEN)},
        timeout=10,
    )
    assert response.status_code in (202, 422), response.text
    wire_id = response.json().get("id") or response.json().get("resource")
    item = wait_for(
        lambda: (
            (s := security_service.wire_status(wire_id))["status"]
            in ("parsed", "quarantined", "duplicate")
            and s
        ),
        timeout=60,
        message="the item to be processed",
    )
    everything = json.dumps(item)
    for story_id in item.get("story_ids") or []:
        everything += security_service.get(f"/v1/stories/{story_id}").text
    assert "root:x:0:0" not in everything
