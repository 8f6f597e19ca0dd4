"""Put stories, events and feeds in a service's Redis and hand them to publish by task name.

What ingest and render do for publish, done by the test: a story version and its event stored
with ``shared.stories``, then ``on_story_event`` sent; feed bytes stored with
``shared.feedstore``, then ``on_feed_updated`` sent. Tests of publish then control exactly which
versions exist and in which order their events arrive.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
from celery import Celery

from shared import feedstore, names, publish_events, stories
from shared.celery_app import celery_config
from shared.ids import derived_id
from shared.models import Contributor, Event, EventType, FeedUpdate, Story
from shared.settings import Settings

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def make_story(
    story_id: str,
    version: int = 1,
    *,
    headline: str = "Test headline",
    section: str = "Science",
    agency: str = "Reuters",
    contributors: tuple[str, ...] = ("Ana Lima",),
    status: str = "usable",
) -> Story:
    return Story(
        id=story_id,
        version=version,
        status=status,  # type: ignore[arg-type]
        headline=f"{headline} v{version}",
        section=section,
        agency=agency,
        contributors=[Contributor(name=name, role="reporting") for name in contributors],
        first_published=NOW,
        updated=NOW,
        content_hash=derived_id("h", story_id, str(version)),
    )


def event_for(story: Story, event_type: EventType) -> Event:
    return Event(
        id=derived_id("evt", story.id, str(story.version)),
        type=event_type,
        timestamp=datetime.now(UTC),
        story_id=story.id,
        version=story.version,
        previous_version=story.version - 1 if story.version > 1 else None,
        sections=[story.section] if story.section else [],
        agencies=[story.agency] if story.agency else [],
        contributors=[c.name for c in story.contributors],
    )


@dataclass
class Injector:
    """Stores what upstream services would store, and sends publish its tasks."""

    redis_url: str
    client: redis.Redis = field(init=False)
    app: Celery = field(init=False)

    def __post_init__(self) -> None:
        self.client = redis.Redis.from_url(self.redis_url)
        self.app = Celery("syndicate-tests")
        self.app.conf.update(celery_config(Settings(redis_url=self.redis_url)))

    def send(self, task: str, *args: Any) -> None:
        self.app.send_task(task, args=list(args), queue=names.queue_of(task))

    def store_version(self, story: Story, event_type: EventType) -> Event:
        """Store a story version and its event, as ingest does (without sending it)."""
        event = event_for(story, event_type)
        stories.save_event(self.client, event)
        stories.save_version(self.client, story)
        return event

    def story_event(self, event: Event) -> None:
        self.send(names.TASK_PUBLISH_ON_EVENT, event.model_dump(mode="json"))

    def hand_over(self, events: list[Event], *, wake: bool = True, drainers: int = 2) -> None:
        """Hand story events to publish as ingest does: into publish's list, each drainer slot
        that should run woken (``wake=False``: those messages lost)."""
        raw = [event.model_dump_json() for event in events]
        for slot in publish_events.push(self.client, raw, drainers):
            if wake:
                self.send(names.TASK_PUBLISH_DRAIN_EVENTS, slot)

    def publish(self, story: Story, event_type: EventType = "story.published") -> Event:
        event = self.store_version(story, event_type)
        self.story_event(event)
        return event

    def feed(
        self,
        base_url: str,
        name: str,
        fmt: str,
        body: bytes,
        content_type: str,
        send: bool = True,
    ) -> FeedUpdate:
        """Store a feed's bytes and tell publish, as render does."""
        feedstore.save_feed(self.client, name, fmt, body, NOW, content_type)
        etag = feedstore.etag_of(body)
        update = FeedUpdate(
            id=derived_id("evt", "feed", name, etag),
            timestamp=datetime.now(UTC),
            feed=name,
            urls={fmt: f"{base_url}/feeds/{name}.{fmt}"},
            etags={fmt: etag},
            content_types={fmt: content_type},
        )
        if send:
            self.send(names.TASK_PUBLISH_ON_FEED_UPDATED, update.model_dump(mode="json"))
        return update

    def close(self) -> None:
        self.client.close()


def unique(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"
