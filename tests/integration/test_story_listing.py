"""`GET /v1/stories`: newest first publication first, at most `limit` stories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis
import requests

from shared import stories
from shared.models import Story

T0 = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def story(n: int, **changes: object) -> Story:
    when = T0 + timedelta(hours=n)
    base = Story(
        id=f"st_listing{n}",
        version=1,
        headline=f"Listed story number {n}",
        section="Science" if n % 2 else "Sport",
        agency="Reuters",
        first_published=when,
        updated=when,
        content_hash=f"h{n}",
    )
    return base.model_copy(update=changes)


def test_newest_first_and_limited(api: str, redis_db: redis.Redis) -> None:
    for n in (2, 0, 3, 1):  # stored out of order
        stories.save_version(redis_db, story(n))
    listed = requests.get(f"{api}/v1/stories", params={"limit": 50}, timeout=10).json()["items"]
    assert [s["id"] for s in listed] == ["st_listing3", "st_listing2", "st_listing1", "st_listing0"]
    two = requests.get(f"{api}/v1/stories", params={"limit": 2}, timeout=10).json()["items"]
    assert [s["id"] for s in two] == ["st_listing3", "st_listing2"]
    science = requests.get(
        f"{api}/v1/stories", params={"section": "science", "limit": 1}, timeout=10
    ).json()["items"]
    assert [s["id"] for s in science] == ["st_listing3"]
