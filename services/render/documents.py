"""One feed document in every format, pure, kept under the size limit.

A document is a feed's subscription document or one of its archive pages (``feeds.Page``). The
stories are mapped to entries once and written as RSS, Atom and JSON Feed. When a format would
pass ``max_bytes``, the largest entries are shortened first (``fitting``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from services.render import fitting
from services.render.entries import Entry, entry_of
from services.render.feeds import SUBSCRIPTION, FeedSpec, Page, entry_size, render_atom, render_rss
from services.render.jsonfeed import item_size, render_json
from shared.models import Story

Renderer = Callable[[FeedSpec, Sequence[Entry], Page], bytes]
RENDERERS: dict[str, Renderer] = {"rss": render_rss, "atom": render_atom, "json": render_json}
FORMATS = tuple(RENDERERS)
CONTENT_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
ENTRY_CACHE_SIZE = 4096


class _EntryCache:
    """Entries by story object and base URL: a story is in several feeds and stays in each
    through many renders, and sanitising it is most of the cost of an entry. Stored stories are
    parsed once per process (``shared.stories.parse_cached``), so the same version comes back
    as the same object; the cache keeps that object, so its identity is never reused while its
    entry is here. (Keying by the story's JSON cost a dump per story per render.)"""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, int], tuple[Story, Entry]] = OrderedDict()

    def get(self, story: Story, base_url: str) -> Entry:
        key = (base_url, id(story))
        hit = self._entries.get(key)
        if hit is not None and hit[0] is story:
            self._entries.move_to_end(key)
            return hit[1]
        entry = entry_of(story, base_url)
        self._entries[key] = (story, entry)
        self._entries.move_to_end(key)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return entry


_ENTRIES = _EntryCache(ENTRY_CACHE_SIZE)


def _render(
    spec: FeedSpec, entries: Sequence[Entry], page: Page, formats: Sequence[str]
) -> dict[str, bytes]:
    return {fmt: RENDERERS[fmt](spec, entries, page) for fmt in formats}


_SIZES: dict[str, Callable[[Entry], int]] = {
    "rss": lambda entry: entry_size(entry, "rss"),
    "atom": lambda entry: entry_size(entry, "atom"),
    "json": item_size,
}


def render_document(
    spec: FeedSpec,
    stories: Sequence[Story],
    page: Page = SUBSCRIPTION,
    *,
    max_bytes: int = 1_000_000,
    formats: Sequence[str] = FORMATS,
) -> dict[str, bytes]:
    """The document's bytes per format (``rss``, ``atom``, ``json``, or those of ``formats``),
    each at most ``max_bytes``. An entry is sized by the largest of the formats rendered, so a
    document that needed fitting may be shortened differently when fewer formats are."""
    entries = [_ENTRIES.get(story, spec.base_url) for story in stories]
    chosen_formats = [fmt for fmt in FORMATS if fmt in formats]
    return fitting.fit(
        entries,
        stories,
        lambda chosen: _render(spec, chosen, page, chosen_formats),
        lambda entry: max(_SIZES[fmt](entry) for fmt in chosen_formats),
        max_bytes,
    )


def last_modified(updated: datetime, previous: datetime | None) -> datetime:
    """The Last-Modified to store with bytes that differ from the stored ones.

    HTTP dates have whole seconds, so it has whole seconds; and it is strictly later than the
    previous one (by a second when the feed's ``updated`` is not later: two renders within one
    second, or a removal that leaves the newest date where it was), so a client that revalidates
    with ``If-Modified-Since`` alone never gets a ``304`` for bytes it has not seen.
    """
    current = updated.astimezone(UTC).replace(microsecond=0)
    if previous is None:
        return current
    floor = previous.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
    return max(current, floor)
