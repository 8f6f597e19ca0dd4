"""Feeds on the real service (API, workers, scheduler as processes): copy reaches its section,
agency and contributor feeds in three formats; a kill takes it out of all of them and leaves an
Atom tombstone; the renders show on /metrics."""

from __future__ import annotations

import json
import uuid

import feedparser
from lxml import etree

from tests.integration.test_end_to_end import sample_copy
from tests.support.service import Service
from tests.support.waiting import wait_for

TOMBSTONE = "{http://purl.org/atompub/tombstones/1.0}deleted-entry"


def copy_in_section(tag: str, section: str, kill: bool = False) -> bytes:
    body = sample_copy(tag).replace(b"\nEnvironment\n", f"\n{section}\n".encode())
    if kill:
        headline = f"Volunteers Count {tag} Seabirds".encode()
        body = body.replace(headline, b"KILL-" + headline, 1)
    return body


def json_ids(service: Service, path: str) -> list[str]:
    response = service.get(path)
    if response.status_code != 200:
        return []
    return [item["id"] for item in json.loads(response.content)["items"]]


def test_copy_reaches_its_feeds_and_a_kill_removes_it(live_service: Service) -> None:
    tag = uuid.uuid4().hex[:8]
    section = f"Seabirds {tag}"
    feed = f"/feeds/sections/seabirds-{tag}"
    wire = live_service.post_wire(copy_in_section(tag, section)).json()["id"]
    wait_for(lambda: json_ids(live_service, f"{feed}.json"), timeout=60, message="the section feed")
    story_id = live_service.wire_status(wire)["story_ids"][0]  # type: ignore[index]
    urn = f"urn:syndicate:story:{story_id}"
    assert json_ids(live_service, f"{feed}.json") == [urn]
    for fmt in ("rss", "atom"):
        parsed = feedparser.parse(live_service.get(f"{feed}.{fmt}").content)
        assert parsed.bozo == 0 and [e.id for e in parsed.entries] == [urn]
    assert urn in json_ids(live_service, "/feeds/contributors/ana-lima.json")
    listed = [f["name"] for f in live_service.get("/feeds").json()["feeds"]]
    assert f"sections/seabirds-{tag}" in listed

    killed = live_service.post_wire(copy_in_section(tag, section, kill=True)).json()["id"]
    wait_for(
        lambda: live_service.wire_status(killed)["status"] == "parsed", timeout=60, message="kill"
    )
    wait_for(lambda: not json_ids(live_service, f"{feed}.json"), timeout=60, message="removal")
    assert urn not in json_ids(live_service, "/feeds/all.json")
    atom = etree.fromstring(live_service.get(f"{feed}.atom").content)
    assert [t.get("ref") for t in atom.findall(TOMBSTONE)] == [urn]
    metrics = live_service.get("/metrics").text
    assert (
        f'syndicate_feed_renders_total{{feed="sections/seabirds-{tag}",format="atom"}}' in metrics
    )
