"""Which feeds exist and what each is called (pure)."""

from __future__ import annotations

from services.render.feeds import FeedSpec

FORMATS = ("rss", "atom")
CONTENT_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
}


def feed_spec(name: str, base_url: str) -> FeedSpec | None:
    """The spec of a feed by name, or ``None`` when there is no such feed."""
    if name == "all":
        return FeedSpec(
            name="all",
            title="Syndicate: all stories",
            description="Every story from every wire, newest first.",
            base_url=base_url,
        )
    return None


def feeds_touched_by(_event_type: str) -> list[str]:
    """The feeds an event changes."""
    return ["all"]
