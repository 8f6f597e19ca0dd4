"""Polite polling on the real service, against upstream wires on loopback: conditional GETs and
304s, 429 with Retry-After, a malformed feed, new entries among old ones, changed entries,
permanent redirects, 410, the SSRF guard on redirects, body and time limits."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
import requests

from tests.integration.sources.conftest import (
    create,
    get_source,
    items,
    wait_parsed,
    wait_source,
)
from tests.support.events import unique
from tests.support.service import Service
from tests.support.upstream import Answer, Hit, Upstream, http_date, rss
from tests.support.waiting import wait_for

RSS_TYPE = "application/rss+xml; charset=utf-8"


def hits(upstream: Upstream, path: str, count: int, timeout: float = 45) -> list[Hit]:
    return wait_for(
        lambda: (found := upstream.hits_of(path)) and len(found) >= count and found,
        timeout=timeout,
        interval=0.1,
        message=f"{count} requests to {path}",
    )


def conditional(body_of: dict[str, Any]) -> Any:
    """An upstream that answers 304 to a request carrying the current ETag."""

    def answer(hit: Hit) -> Answer:
        if hit.header("If-None-Match") == body_of["etag"]:
            return Answer(304, {"ETag": body_of["etag"]})
        return Answer(
            200,
            {"ETag": body_of["etag"], "Last-Modified": body_of["lm"], "Content-Type": RSS_TYPE},
            body_of["body"],
        )

    return answer


def stories(n: int, start: int = 0, tag: str = "") -> list[tuple[str, str]]:
    return [
        (f"{tag}{i}", f"Harbour pilots report {tag} item {i} as the tide turns")
        for i in range(start, start + n)
    ]


def test_a_second_poll_is_conditional_and_a_304_takes_nothing(
    live_service: Service, upstream: Upstream, made: list[str]
) -> None:
    tag = unique("cond-")
    state = {"etag": '"v1"', "lm": http_date(), "body": rss(stories(2, tag=tag))}
    url = upstream.serve("/cond", conditional(state))
    source = create(live_service, made, url=url, interval_seconds=1, agency="reuters")
    first, second, third = hits(upstream, "/cond", 3)[:3]
    assert first.header("If-None-Match") is None and first.header("If-Modified-Since") is None
    assert second.header("If-None-Match") == '"v1"'
    assert second.header("If-Modified-Since") == state["lm"]
    assert third.header("If-None-Match") == '"v1"'
    assert (first.header("User-Agent") or "").startswith("Syndicate/")
    assert "application/rss+xml" in (first.header("Accept") or "")
    polled = wait_source(
        live_service,
        source["id"],
        lambda s: s["health"]["last_status"] == 304,
        "a 304 recorded",
    )
    assert polled["health"]["last_outcome"] == "not-modified"
    assert polled["health"]["status"] == "ok" and polled["health"]["etag"] == '"v1"'
    assert polled["health"]["items_taken"] == 2  # the 304s took nothing
    assert items(live_service, source["id"])["total"] == 2
    taken = wait_parsed(live_service, source["id"], 2)
    story = live_service.get(f"/v1/stories/{taken[0]['story_ids'][0]}").json()
    assert story["agency"] == "Reuters" and story["publisher"] == "Harbour Wire"
    exposed = live_service.get("/metrics").text
    assert f'syndicate_source_polls_total{{outcome="ok",source="{source["id"]}"}} 1.0' in exposed
    assert (
        f'syndicate_source_polls_total{{outcome="not-modified",source="{source["id"]}"}}' in exposed
    )
    assert f'syndicate_source_items_total{{source="{source["id"]}",via="feed"}} 2.0' in exposed


@pytest.mark.parametrize("status", [429, 503])
def test_429_or_503_with_retry_after_delays_the_next_poll(
    live_service: Service, upstream: Upstream, made: list[str], status: int
) -> None:
    counter = itertools.count()
    body = rss(stories(1, tag=unique("busy-")))

    def answer(_hit: Hit) -> Answer:
        if next(counter) == 0:
            return Answer(status, {"Retry-After": "3"}, b"slow down")
        return Answer(200, {"Content-Type": RSS_TYPE}, body)

    url = upstream.serve("/busy", answer)
    source = create(live_service, made, url=url, interval_seconds=1)
    throttled = wait_source(
        live_service,
        source["id"],
        lambda s: s["health"]["last_outcome"] == "throttled",
        "the 429 recorded",
    )
    health = throttled["health"]
    assert health["status"] == "failing" and health["consecutive_failures"] == 1
    assert health["last_status"] == status and "Retry-After 3" in health["last_error"]
    assert health["next_poll_reason"] == "retry-after"
    first, second = hits(upstream, "/busy", 2)[:2]
    # interval 1 s and one failure's backoff (2 s ±10%) would have come sooner than 3 s
    assert second.at - first.at >= 2.95
    recovered = wait_source(
        live_service, source["id"], lambda s: s["health"]["status"] == "ok", "recovery"
    )
    assert recovered["health"]["consecutive_failures"] == 0
    assert recovered["health"]["items_taken"] == 1


def test_copy_without_an_agency_gets_the_sources_and_copy_with_one_keeps_its_own(
    live_service: Service, upstream: Upstream, made: list[str]
) -> None:
    """The source's ``agency`` is the last resort of ingest's precedence chain."""
    tag = unique("agency-")
    feed = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        "<title>Harbour Wire</title><link>https://wire.example/</link>"
        f"<item><title>Ferries run late after the storm {tag}</title><guid>{tag}-plain</guid>"
        "<description>Ferries ran late on Tuesday after a storm closed the harbour mouth "
        "for most of the morning.</description></item>"
        f"<item><title>The bridge reopens {tag}</title><guid>{tag}-own</guid>"
        "<description>OSLO, Sept 1 (Reuters) - The bridge reopened on Tuesday after weeks "
        "of repairs.</description></item></channel></rss>"
    ).encode()
    url = upstream.serve("/agencies", Answer(200, {"Content-Type": RSS_TYPE}, feed))
    source = create(live_service, made, url=url, interval_seconds=3600, agency="afp")
    agencies = {}
    for item in wait_parsed(live_service, source["id"], 2):
        (story_id,) = item["story_ids"]
        agencies[item["entry"]] = live_service.get(f"/v1/stories/{story_id}").json()["agency"]
    assert agencies == {f"guid:{tag}-plain": "AFP", f"guid:{tag}-own": "Reuters"}


def test_a_malformed_feed_is_the_sources_error_and_is_retried_later(
    live_service: Service, upstream: Upstream, made: list[str]
) -> None:
    fixed = {"now": False}
    good = rss(stories(2, tag=unique("mal-")))

    def answer(_hit: Hit) -> Answer:
        if fixed["now"]:
            return Answer(200, {"Content-Type": RSS_TYPE}, good)
        return Answer(200, {"Content-Type": RSS_TYPE}, b"<rss><channel><item></channel></rss>")

    url = upstream.serve("/broken", answer)
    source = create(live_service, made, url=url, interval_seconds=1)
    failing = wait_source(
        live_service,
        source["id"],
        lambda s: s["health"]["consecutive_failures"] >= 2,
        "two failed polls",
    )
    health = failing["health"]
    assert health["status"] == "failing" and health["last_outcome"] == "error"
    assert "malformed feed" in health["last_error"] and "line 1" in health["last_error"]
    assert health["next_poll_reason"].startswith("backoff")
    first, second = upstream.hits_of("/broken")[:2]
    assert second.at - first.at >= 1.8  # retried later: after a backoff, not at the interval
    # the document is kept, quarantined with its error (never dropped), once per distinct body
    wire_id = re.search(r"kept as (wire_\w+)", health["last_error"])
    assert wire_id is not None
    kept = live_service.wire_status(wire_id.group(1))
    assert kept["status"] == "quarantined" and kept["error"]["line"] == 1
    assert kept["source_id"] == source["id"]

    fixed["now"] = True
    recovered = wait_source(
        live_service, source["id"], lambda s: s["health"]["status"] == "ok", "recovery"
    )
    assert recovered["health"]["consecutive_failures"] == 0
    assert recovered["health"]["items_taken"] == 2


def test_three_new_entries_among_twenty_are_taken_and_nothing_else(
    live_service: Service, upstream: Upstream, made: list[str]
) -> None:
    tag = unique("twenty-")
    old, new = stories(17, tag=tag), stories(3, start=17, tag=tag)
    state = {"etag": '"a"', "lm": http_date(), "body": rss(old[::-1])}
    url = upstream.serve("/twenty", conditional(state))
    source = create(live_service, made, url=url, interval_seconds=1)
    wait_parsed(live_service, source["id"], 17)

    state.update(etag='"b"', body=rss((old + new)[::-1]))
    taken = wait_parsed(live_service, source["id"], 20)
    before = len(upstream.hits_of("/twenty"))
    hits(upstream, "/twenty", before + 2)  # two more polls of the same 20
    assert items(live_service, source["id"])["total"] == 20
    assert get_source(live_service, source["id"])["health"]["items_taken"] == 20
    assert [i["entry"] for i in taken[:3]] == [f"guid:{tag}19", f"guid:{tag}18", f"guid:{tag}17"]
    for item in taken[:3]:
        (story_id,) = item["story_ids"]
        story = live_service.get(f"/v1/stories/{story_id}").json()
        assert story["guid"] == item["entry"].removeprefix("guid:")

    # a changed entry is a new version of its story, through the normal ingest path
    changed = [
        (guid, f"{headline}, updated") if guid == f"{tag}5" else (guid, headline)
        for guid, headline in old + new
    ]
    state.update(etag='"c"', body=rss(changed[::-1]))
    (update, *_rest) = wait_parsed(live_service, source["id"], 21)
    assert update["entry"] == f"guid:{tag}5"
    versions = live_service.get(f"/v1/stories/{update['story_ids'][0]}/versions").json()["items"]
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[-1]["headline"].endswith(", updated")


def test_a_permanent_redirect_moves_the_source_and_a_temporary_one_does_not(
    live_service: Service, upstream: Upstream, made: list[str]
) -> None:
    body = rss(stories(1, tag=unique("moved-")))
    new_url = upstream.serve("/new", Answer(200, {"Content-Type": RSS_TYPE}, body))
    old_url = upstream.serve("/old", Answer(301, {"Location": new_url}))
    upstream.serve("/temp", Answer(302, {"Location": "/new"}))
    moved = create(live_service, made, url=old_url, interval_seconds=1)
    temporary = create(live_service, made, url=upstream.url("/temp"), interval_seconds=1)
    wait_source(live_service, moved["id"], lambda s: s["url"] == new_url, "the URL updated")
    hits(upstream, "/temp", 3)
    hits(upstream, "/new", 6)
    assert len(upstream.hits_of("/old")) == 1  # polls go straight to the new URL
    assert get_source(live_service, temporary["id"])["url"] == upstream.url("/temp")


def test_gone_ssrf_size_and_time_limits_are_each_a_sources_error(
    live_service: Service, upstream: Upstream, made: list[str]
) -> None:
    big = rss(stories(40, tag=unique("big-")))
    upstream.serve("/gone", Answer(410, body=b"this feed has ended"))
    upstream.serve("/evil", Answer(302, {"Location": "http://169.254.169.254/latest/meta-data"}))
    upstream.serve("/big", Answer(200, {"Content-Type": RSS_TYPE}, big))
    upstream.serve("/slow", Answer(200, {"Content-Type": RSS_TYPE}, big, delay=4.0))
    gone = create(live_service, made, url=upstream.url("/gone"), interval_seconds=1)
    evil = create(live_service, made, url=upstream.url("/evil"), interval_seconds=1)
    large = create(
        live_service, made, url=upstream.url("/big"), interval_seconds=1, max_bytes=len(big) // 2
    )
    slow = create(
        live_service, made, url=upstream.url("/slow"), interval_seconds=1, timeout_seconds=1
    )

    ended = wait_source(
        live_service, gone["id"], lambda s: not s["enabled"], "410 to disable the source"
    )
    assert "410 Gone" in ended["disabled_reason"] and ended["health"]["status"] == "disabled"
    assert ended["health"]["next_poll_at"] is None

    refused = wait_source(
        live_service, evil["id"], lambda s: s["health"]["last_error"], "the guard's refusal"
    )["health"]["last_error"]
    assert "SSRF guard" in refused and "cloud metadata" in refused
    assert "SYNDICATE_SOURCE_ALLOWED_NETWORKS" in refused

    too_big = wait_source(
        live_service, large["id"], lambda s: s["health"]["last_error"], "the size limit"
    )
    assert f"over {len(big) // 2} bytes" in too_big["health"]["last_error"]
    assert too_big["health"]["items_taken"] == 0

    timed_out = wait_source(
        live_service, slow["id"], lambda s: s["health"]["last_error"], "the time limit"
    )
    assert "timed out" in timed_out["health"]["last_error"]


def test_sources_are_managed_over_http(live_service: Service, made: list[str]) -> None:
    """Poll now, disable (off the schedule), enable, delete: what the API says is what happens."""
    base, auth = live_service.base_url, live_service.auth()
    source = create(live_service, made, url="http://127.0.0.1:9/nothing", interval_seconds=3600)
    listed = requests.get(f"{base}/v1/sources", headers=auth, timeout=10).json()["items"]
    assert source["id"] in [s["id"] for s in listed]
    failed = wait_source(
        live_service, source["id"], lambda s: s["health"]["last_error"], "the first poll"
    )
    assert "fetch failed" in failed["health"]["last_error"]
    again = requests.post(f"{base}/v1/sources/{source['id']}/poll", headers=auth, timeout=10)
    assert again.status_code == 202
    off = requests.patch(
        f"{base}/v1/sources/{source['id']}", json={"enabled": False}, headers=auth, timeout=10
    ).json()
    assert off["health"]["status"] == "disabled" and off["health"]["next_poll_at"] is None
    refused = requests.post(f"{base}/v1/sources/{source['id']}/poll", headers=auth, timeout=10)
    assert refused.status_code == 409
    gone = requests.delete(f"{base}/v1/sources/{source['id']}", headers=auth, timeout=10)
    assert gone.status_code == 204
    assert (
        requests.get(f"{base}/v1/sources/{source['id']}", headers=auth, timeout=10).status_code
        == 404
    )
