"""The pipeline's pure steps in one process, no Redis, no Celery: parse, decide, render, sign.

This is the ceiling the running service is compared with.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from services.ingest.decide import decide
from services.ingest.formats import ParseContext, parse
from services.publish.deliveries import payload
from services.publish.signing import new_secret, webhook_headers
from services.render.documents import render_document
from services.render.feeds import FeedSpec

SAMPLE = (Path(__file__).parents[1] / "tests" / "data" / "republished.txt").read_bytes()
NOW = datetime(2026, 3, 4, tzinfo=UTC)


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds else float("inf")


def run() -> dict[str, object]:
    ctx = ParseContext(received=NOW, content_type="text/plain")
    n = 2000
    started = time.perf_counter()
    stories = []
    for i in range(n):
        draft = parse(SAMPLE.replace(b"Keepers", f"Keepers {i}".encode()), ctx)[0]
        decision = decide(None, draft, now=NOW)
        assert decision.story is not None
        stories.append(decision.story)
    parse_seconds = time.perf_counter() - started

    spec = FeedSpec(name="all", title="All", description="All", base_url="http://bench")
    renders = 50
    started = time.perf_counter()
    for _ in range(renders):
        render_document(spec, stories[:50])
    render_seconds = time.perf_counter() - started

    secret = new_secret()
    signs = 5000
    started = time.perf_counter()
    for i in range(signs):
        body = payload(decision.event, stories[i % n].to_json_dict())  # type: ignore[arg-type]
        webhook_headers([secret], f"evt_{i}", 1700000000, body)
    sign_seconds = time.perf_counter() - started

    return {
        "text stories parsed+decided per second (1 core)": _rate(n, parse_seconds),
        "50-entry feed renders per second (rss+atom+json)": _rate(renders, render_seconds),
        "webhook bodies built+signed per second": _rate(signs, sign_seconds),
    }
