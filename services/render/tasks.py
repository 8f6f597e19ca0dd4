"""Render's Celery tasks: load the stories a feed shows, render (pure), store the bytes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from services.render import catalog
from services.render.feeds import RENDERERS, feed_updated
from shared import feedstore as store
from shared import names, stories
from shared.celery_app import get_celery, send
from shared.ids import derived_id
from shared.models import Event, FeedUpdate, Story
from shared.redis_conn import get_redis
from shared.settings import get_settings

log = logging.getLogger(__name__)
app = get_celery()


def _stories_for(feed: str, limit: int) -> list[Story]:
    client = get_redis()
    found: list[Story] = []
    offset = 0
    while len(found) < limit:
        ids = stories.recent_ids(client, limit * 2, offset)
        if not ids:
            break
        found.extend(s for s in stories.get_many(client, ids) if s.status == "usable")
        offset += len(ids)
    return found[:limit]


def render_feed(name: str) -> list[str]:
    """Render one feed in every format, store what changed, and tell publish (``feed.updated``).

    Returns the formats whose bytes changed.
    """
    settings = get_settings()
    spec = catalog.feed_spec(name, settings.base_url)
    if spec is None:
        return []
    entries = _stories_for(name, settings.feed_size)
    changed = []
    etags: dict[str, str] = {}
    client = get_redis()
    for fmt, render in RENDERERS.items():
        body = render(spec, entries)
        if store.save_feed(
            client, name, fmt, body, feed_updated(entries), catalog.CONTENT_TYPES[fmt]
        ):
            changed.append(fmt)
        etags[fmt] = store.etag_of(body)
    if changed:
        update = FeedUpdate(
            id=derived_id("evt", "feed", name, *sorted(etags.values())),
            timestamp=datetime.now(UTC),
            feed=name,
            urls={fmt: spec.url(fmt) for fmt in RENDERERS},
            etags=etags,
            content_types={fmt: catalog.CONTENT_TYPES[fmt] for fmt in RENDERERS},
        )
        send(names.TASK_PUBLISH_ON_FEED_UPDATED, update.model_dump(mode="json"))
    return changed


@app.task(name=names.TASK_RENDER_ON_EVENT)
def on_story_event(event_data: dict[str, Any]) -> list[str]:
    """Re-render every feed the event touches."""
    event = Event.model_validate(event_data)
    rendered = []
    for feed in catalog.feeds_touched_by(event.type):
        if render_feed(feed):
            rendered.append(feed)
    log.info("event %s (%s): rendered %s", event.id, event.type, rendered or "nothing new")
    return rendered


def render_all_feeds() -> None:
    """Render every feed once (at worker start, so a fresh service serves feeds at once)."""
    for feed in ("all",):
        render_feed(feed)
