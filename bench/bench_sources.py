"""Sources, pure steps: splitting a fetched feed into one-entry documents and picking the new
ones, for a 100-entry RSS feed and a 100-item JSON Feed (one core, no Redis, no network).

A poll of an unchanged feed costs one split plus one hash lookup per entry (304s cost nothing);
this is the figure that bounds how many busy feeds one scheduler's poller can keep up with.
"""

from __future__ import annotations

import json
import time

from services.ingest.sources.entries import iter_new, split
from tests.support.upstream import rss


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds else float("inf")


def run() -> dict[str, object]:
    items = [(f"guid-{i}", f"Harbour pilots report item {i} as the tide turns") for i in range(100)]
    feed = rss(items)
    json_feed = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Bench",
            "items": [
                {"id": guid, "title": title, "content_html": f"<p>{title}.</p>"}
                for guid, title in items
            ],
        }
    ).encode()
    rounds = 40
    started = time.perf_counter()
    for _ in range(rounds):
        split(feed)
    rss_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(rounds):
        split(json_feed)
    json_seconds = time.perf_counter() - started
    known = {e.key: e.digest for e in split(feed).entries}
    started = time.perf_counter()
    for _ in range(rounds):
        assert not list(iter_new(split(feed).entries, known))
    unchanged_seconds = time.perf_counter() - started
    return {
        "RSS entries split per second (100-entry feed)": _rate(rounds * 100, rss_seconds),
        "JSON Feed items split per second (100-item feed)": _rate(rounds * 100, json_seconds),
        "unchanged 100-entry polls checked per second": _rate(rounds, unchanged_seconds),
    }
