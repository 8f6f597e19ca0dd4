"""Entries to JSON Feed 1.1 bytes (https://jsonfeed.org/version/1.1): pure, deterministic.

feedgen has no JSON Feed, so this is our own renderer over the same ``Entry`` values as RSS and
Atom. JSON Feed has no roles, no photo credits and no corrections, so each item also carries a
``_syndicate`` extension object (JSON Feed's rule for extensions: a key starting with ``_``) with
every contributor and role, every photo with its credit, the agency, section and version.
Archives: ``next_url`` points to the next-older page (JSON Feed's pagination), and archive pages
say ``expired: true`` (they are not updated any more, except to drop a withdrawn story).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from services.render.entries import Entry, feed_updated
from services.render.feeds import SUBSCRIPTION, FeedSpec, Page

VERSION = "https://jsonfeed.org/version/1.1"
EXTENSION_ABOUT = "https://syndicate.example/docs/feeds#json-feed-extension"


@lru_cache(maxsize=4096)
def _item_json(entry: Entry) -> bytes:
    """One item as UTF-8 JSON, built and encoded once per distinct entry (encoding the whole
    document at each render was a third of its cost)."""
    return json.dumps(_item(entry), ensure_ascii=False, indent=1).encode()


def item_size(entry: Entry) -> int:
    """How many bytes ``entry`` adds to a JSON Feed document (to keep feeds small)."""
    return len(_item_json(entry)) + 2  # and the ",\n" that joins it to the next


def _item(entry: Entry) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": entry.id,
        "url": entry.link,
        "title": entry.title,
        "summary": entry.summary,
        "content_html": entry.content_html,
        "date_published": entry.published.isoformat(),
        "date_modified": entry.updated.isoformat(),
        "authors": [{"name": p.name, **({"url": p.uri} if p.uri else {})} for p in entry.bylines],
    }
    tags = [category.term for category in entry.categories]
    if tags:
        item["tags"] = tags
    if entry.language:
        item["language"] = entry.language
    with_url = [photo for photo in entry.photos if photo.url]
    if with_url:
        item["image"] = with_url[0].url
        attachments = [
            {"url": p.url, "mime_type": p.media_type, **({"title": p.caption} if p.caption else {})}
            for p in with_url
            if p.media_type
        ]
        if attachments:
            item["attachments"] = attachments
    extension: dict[str, Any] = {
        "about": EXTENSION_ABOUT,
        "story_id": entry.story_id,
        "version": entry.version,
        "contributors": [
            {"name": p.name, "role": p.role, "kind": p.kind, "url": p.uri} for p in entry.people
        ],
        "photos": [
            {
                **({"url": p.url} if p.url else {}),
                "caption": p.caption,
                "credit": p.credit,
            }
            for p in entry.photos
        ],
    }
    for key in ("agency", "section", "credit_line", "correction"):
        if value := getattr(entry, key):
            extension[key] = value
    if entry.truncated:
        extension["truncated"] = True
    item["_syndicate"] = extension
    return item


def render_json(spec: FeedSpec, entries: Sequence[Entry], page: Page = SUBSCRIPTION) -> bytes:
    """JSON Feed 1.1 bytes for ``entries`` in the order given (newest first)."""
    feed: dict[str, Any] = {
        "version": VERSION,
        "title": f"{spec.title} (archive {page.label})" if page.label else spec.title,
        "home_page_url": spec.site_url,
        "feed_url": spec.url("json", page.label),
        "description": spec.description,
        "language": spec.language,
    }
    if page.is_archive:
        feed["expired"] = True
    else:
        feed["hubs"] = [{"type": "WebSub", "url": spec.hub_url}]
    if page.prev_archive:
        feed["next_url"] = spec.url("json", page.prev_archive)
    feed["_syndicate"] = {
        "about": EXTENSION_ABOUT,
        "updated": feed_updated(entries, page.tombstones, spec.created).isoformat(),
        **({"current_url": spec.url("json")} if page.is_archive else {}),
        **({"newer_url": spec.url("json", page.next_archive)} if page.next_archive else {}),
    }
    head = json.dumps(feed, ensure_ascii=False, indent=1)[:-2]  # without the closing "\n}"
    if not entries:
        return f'{head},\n "items": []\n}}\n'.encode()
    items = b",\n".join(_item_json(entry) for entry in entries)
    return f'{head},\n "items": [\n'.encode() + items + b"\n ]\n}\n"
