"""Stories and events in Redis: written by ingest, read by render, publish and the API.

A story is its latest version under ``keys.story`` plus every version, oldest first, under
``keys.story_versions``; ``keys.stories_by_time`` orders stories by first publication.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import redis

from shared import keys
from shared.models import Event, Story
from shared.redis_conn import raw as as_bytes
from shared.redis_conn import text


def save_version(client: redis.Redis, story: Story) -> None:
    """Append ``story`` as its newest version and make it the latest, in one transaction."""
    pipe = client.pipeline(transaction=True)
    fill_version(pipe, story)
    pipe.execute()


def fill_version(pipe: Any, story: Story) -> None:
    """The writes of ``save_version``, added to a transaction the caller runs."""
    data = story.model_dump_json()
    pipe.set(keys.story(story.id), data)
    pipe.rpush(keys.story_versions(story.id), data)
    pipe.zadd(keys.stories_by_time(), {story.id: story.first_published.timestamp()})


def get_story(client: redis.Redis, story_id: str) -> Story | None:
    raw = client.get(keys.story(story_id))
    return parse_cached(as_bytes(raw)) if raw else None


def get_version(client: redis.Redis, story_id: str, version: int) -> Story | None:
    if version < 1:
        return None
    raw = client.lindex(keys.story_versions(story_id), version - 1)
    return parse_cached(as_bytes(raw)) if raw else None


def fill_get_with_versions(pipe: Any, story_id: str) -> None:
    """The latest version and every version, oldest first, queued on a pipeline (two replies,
    for ``read_with_versions``)."""
    pipe.get(keys.story(story_id))
    pipe.lrange(keys.story_versions(story_id), 0, -1)


def read_with_versions(latest: Any, versions: Any) -> tuple[Story | None, list[Story]]:
    if not latest:
        return None, []
    return Story.model_validate_json(latest), [Story.model_validate_json(v) for v in versions]


def list_versions(client: redis.Redis, story_id: str) -> list[Story]:
    return [
        Story.model_validate_json(raw)
        for raw in client.lrange(keys.story_versions(story_id), 0, -1)
    ]


def get_many(client: redis.Redis, story_ids: Iterable[str]) -> list[Story]:
    ids = list(story_ids)
    if not ids:
        return []
    raws = client.mget([keys.story(story_id) for story_id in ids])
    return [parse_cached(as_bytes(value)) for value in raws if value]


@functools.lru_cache(maxsize=4096)
def parse_cached(raw: bytes) -> Story:
    """A stored story's JSON, parsed once per process: a render reads the same 50 stories
    many times, and render's event task, publish's fan-out and its first attempts each read
    the version a story event names (its latest and its version record hold the same bytes).
    A story is frozen, so one parsed copy serves every reader."""
    return Story.model_validate_json(raw)


def recent_ids(client: redis.Redis, limit: int, offset: int = 0) -> list[str]:
    """Story ids, newest first publication first."""
    raw = client.zrevrange(keys.stories_by_time(), offset, offset + limit - 1)
    return [text(item) for item in raw]


def save_event(client: redis.Redis, event: Event) -> None:
    fill_event(client, event)


def fill_event(pipe: Any, event: Event) -> None:
    """Store ``event`` (on a client, or added to a pipeline the caller runs)."""
    pipe.set(keys.event(event.id), event.model_dump_json())


def get_event(client: redis.Redis, event_id: str) -> Event | None:
    raw = client.get(keys.event(event_id))
    return Event.model_validate_json(raw) if raw else None
