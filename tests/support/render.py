"""In-process render on a real Redis (``services.render.tasks`` is imported inside the helpers:
it configures Celery from the settings of the test that calls them).

In-process render on a real Redis: store a story version as ingest would, run render's event
task, and drain the documents it marked through the real dirty set and pump code."""

from __future__ import annotations

import base64
import json
from typing import Any

import redis

from services.render.pump import Pump
from shared import keys, names, stories
from shared.models import Event, FeedUpdate, Story
from shared.redis_conn import get_redis
from tests.support.waiting import wait_for


def publish(client: redis.Redis, story: Story) -> list[str]:
    """Store ``story`` as its latest version and run render's event task for it."""
    from services.render.tasks import on_story_event  # needs the test's settings: import late

    stories.save_version(client, story)
    event = Event(
        id=f"evt_{story.id}_{story.version}",
        type="story.published" if story.version == 1 else "story.updated",
        timestamp=story.updated,
        story_id=story.id,
        version=story.version,
    )
    result: list[str] = on_story_event(event.model_dump(mode="json"))
    return result


def feed_updates(client: redis.Redis) -> list[FeedUpdate]:
    """The ``feed.updated`` messages render sent, waiting in publish's queue (oldest first)."""
    found = []
    for raw in client.lrange(keys.celery_queue("publish"), 0, -1):
        message = json.loads(raw)
        if message["headers"]["task"] == names.TASK_PUBLISH_ON_FEED_UPDATED:
            args = json.loads(base64.b64decode(message["body"]))[0]
            found.append(FeedUpdate.model_validate(args[0]))
    return found


def due_now(client: redis.Redis, slack: float = 1.0) -> int:
    """Documents due within ``slack`` seconds (future marks such as tombstone expiry excluded)."""
    seconds, micros = client.time()
    now = seconds + micros / 1e6 + slack
    return int(client.zcount(keys.feeds_dirty(), "-inf", now))


def drain(client: redis.Redis, timeout: float = 30.0) -> None:
    """Render every document marked so far (waiting for the coalescing window to pass)."""
    from services.render.tasks import render_due

    pump = Pump(get_redis, render_due)

    def settled() -> bool:
        pump.run_once()
        return due_now(client) == 0

    wait_for(settled, timeout=timeout, interval=0.02, message="marked feeds to render")


def counter(client: redis.Redis, metric: str, labels: list[str]) -> float:
    value: Any = client.hget(keys.metric(metric), json.dumps(labels))
    return float(value) if value is not None else 0.0
