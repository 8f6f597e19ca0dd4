"""The WebSub subscriber on the real service: a feed advertising a hub (a small spec-following
hub on loopback) is subscribed to, the hub's checks of intent are answered only for our own
pending request, signed pushes are ingested, unsigned or badly signed ones refused, the lease is
renewed before it ends, and polling slows to a safety net."""

from __future__ import annotations

import requests

from tests.integration.sources.conftest import create, get_source, items, wait_parsed, wait_source
from tests.support.events import unique
from tests.support.hub import Hub
from tests.support.service import Service
from tests.support.upstream import Answer, Upstream, rss
from tests.support.waiting import wait_for

RSS_TYPE = "application/rss+xml; charset=utf-8"


def test_a_hub_advertising_feed_is_subscribed_to_and_its_push_is_ingested(
    live_service: Service, upstream: Upstream, hub: Hub, made: list[str]
) -> None:
    tag = unique("hub-")
    topic = upstream.url("/hubbed")
    body = rss([(f"{tag}-1", f"Lock gates open on {tag}")], hub=hub.url, self_url=topic)
    link = f'<{hub.url}>; rel="hub", <{topic}>; rel="self"'
    upstream.serve("/hubbed", Answer(200, {"Content-Type": RSS_TYPE, "Link": link}, body))
    source = create(live_service, made, url=topic, interval_seconds=1)
    callback = f"{live_service.base_url}/websub/callback/{source['id']}"

    # subscribed: the hub checked our intent and we echoed its challenge
    (subscriber,) = wait_for(hub.active, timeout=45, message="the hub to verify us")
    (asked, *_) = hub.requests_of("subscribe")
    assert asked.echoed and asked.status == 200
    assert asked.form["hub.topic"] == topic and asked.form["hub.callback"] == callback
    assert len(asked.form["hub.secret"]) >= 32 and int(asked.form["hub.lease_seconds"]) > 0
    active = wait_source(
        live_service, source["id"], lambda s: s["websub"]["state"] == "active", "active"
    )
    assert active["websub"]["hub"] == hub.url and active["websub"]["topic"] == topic
    assert "secret" not in str(active)
    wait_parsed(live_service, source["id"], 1)

    # a forged check (nothing pending) and the hub's own check replayed are both refused
    forged = dict(asked.params, **{"hub.challenge": "forged-challenge"})
    assert Hub.check(callback, forged) == (404, False)
    assert Hub.check(callback, asked.params) == (404, False)
    unsubscribe = {"hub.mode": "unsubscribe", "hub.topic": topic, "hub.challenge": "x"}
    assert Hub.check(callback, unsubscribe) == (404, False)
    assert get_source(live_service, source["id"])["websub"]["state"] == "active"

    # a signed push is taken like a poll's new entries; bad or missing signatures are refused
    pushed = rss(
        [(f"{tag}-2", f"Pushed: barges queue at {tag}"), (f"{tag}-1", f"Lock gates open on {tag}")]
    )
    answer = hub.publish(subscriber, pushed)
    assert answer.status_code == 202 and answer.json()["taken"] == 1
    taken = wait_parsed(live_service, source["id"], 2)
    assert taken[0]["entry"] == f"guid:{tag}-2"
    story = live_service.get(f"/v1/stories/{taken[0]['story_ids'][0]}").json()
    assert story["headline"] == f"Pushed: barges queue at {tag}"
    forged_push = rss([(f"{tag}-3", f"Forged copy about {tag}")])
    refused = hub.publish(subscriber, forged_push, sign_with="not-our-secret")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert hub.publish(subscriber, forged_push, sign_with=None).status_code == 403
    assert items(live_service, source["id"])["total"] == 2
    assert "X-Hub-Signature" in get_source(live_service, source["id"])["websub"]["last_error"]
    exposed = live_service.get("/metrics").text
    assert (
        f'syndicate_source_pushes_total{{outcome="refused",source="{source["id"]}"}} 2.0' in exposed
    )
    assert (
        f'syndicate_source_pushes_total{{outcome="taken",source="{source["id"]}"}} 1.0' in exposed
    )
    assert f'syndicate_source_items_total{{source="{source["id"]}",via="push"}} 1.0' in exposed
    assert f'syndicate_source_items_total{{source="{source["id"]}",via="feed"}} 1.0' in exposed

    # polling slows to a safety net; the lease (8 s here) is renewed before it ends
    wait_source(
        live_service,
        source["id"],
        lambda s: s["health"]["next_poll_reason"] in ("websub safety net", "websub lease renewal"),
        "the next poll planned for the safety net or the renewal",
    )
    renewals = wait_for(
        lambda: len(found := hub.requests_of("subscribe")) >= 2 and found,
        timeout=30,
        message="a lease renewal",
    )
    first, renewal = renewals[0], renewals[1]
    assert renewal.echoed and renewal.at - first.at < hub.lease_seconds
    assert renewal.form["hub.secret"] == first.form["hub.secret"]  # the same subscription
    assert renewal.form["hub.callback"] == callback
    polls = upstream.hits_of("/hubbed")
    assert len(polls) < 6, "with a hub pushing, polls come at renewals, not every second"


def test_pushes_to_a_source_without_a_subscription_are_gone(
    live_service: Service, made: list[str]
) -> None:
    source = create(live_service, made, url="http://127.0.0.1:9/never", interval_seconds=3600)
    callback = f"{live_service.base_url}/websub/callback/{source['id']}"
    answer = requests.post(
        callback, data=b"<rss/>", headers={"X-Hub-Signature": "sha256=00"}, timeout=10
    )
    assert answer.status_code == 410  # the hub drops a subscription we do not hold
    unknown = requests.post(
        f"{live_service.base_url}/websub/callback/src_nope", data=b"<rss/>", timeout=10
    )
    assert unknown.status_code == 410
    check = {"hub.mode": "subscribe", "hub.topic": "http://x/", "hub.challenge": "c"}
    assert Hub.check(callback, check) == (404, False)
