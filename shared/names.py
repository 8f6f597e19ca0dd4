"""Celery queue and task names: the only way one service addresses another.

Services never import each other's tasks; they send by name (``app.send_task(NAME, ...)``) and
Celery routes each name to its queue.
"""

from __future__ import annotations

from typing import Final

QUEUE_INGEST: Final = "ingest"
QUEUE_RENDER: Final = "render"
QUEUE_PUBLISH: Final = "publish"
QUEUES: Final = (QUEUE_INGEST, QUEUE_RENDER, QUEUE_PUBLISH)

# ingest
TASK_INGEST_WIRE: Final = "syndicate.ingest.process_wire"

# render
TASK_RENDER_ON_EVENT: Final = "syndicate.render.on_story_event"

# publish
TASK_PUBLISH_ON_EVENT: Final = "syndicate.publish.on_story_event"
#: ingest → publish: drain the story events waiting in ``keys.publish_events`` (arg: the slot)
TASK_PUBLISH_DRAIN_EVENTS: Final = "syndicate.publish.drain_events"
TASK_PUBLISH_DELIVER: Final = "syndicate.publish.deliver"
TASK_PUBLISH_DRAIN_DUE: Final = "syndicate.publish.drain_due"
#: render → publish: a feed's bytes changed (payload: ``shared.models.FeedUpdate`` as JSON)
TASK_PUBLISH_ON_FEED_UPDATED: Final = "syndicate.publish.on_feed_updated"
#: verify a WebSub subscriber's intent (GET with hub.challenge), or tell it the request is denied
TASK_PUBLISH_WEBSUB_VERIFY: Final = "syndicate.publish.websub_verify"
#: tell an external WebSub hub that a topic changed (hub.mode=publish)
TASK_PUBLISH_HUB_PING: Final = "syndicate.publish.hub_ping"


def queue_of(task_name: str) -> str:
    """The queue a task name belongs to: its second dotted part."""
    parts = task_name.split(".")
    if len(parts) < 3 or parts[0] != "syndicate" or parts[1] not in QUEUES:
        raise ValueError(f"not a Syndicate task name: {task_name!r}")
    return parts[1]
