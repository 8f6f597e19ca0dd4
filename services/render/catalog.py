"""Which feeds exist, what each is called, and which feeds a story belongs to (pure).

Feed names: ``all``; ``sections/{slug}``, ``agencies/{slug}``, ``contributors/{slug}`` (one per
value ever seen); and the named feeds of the settings (``named.py``). Each feed has a
subscription document and dated archive pages (``{name}/archive/{YYYY-MM-DD}-{n}``), every one in
RSS, Atom and JSON Feed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.render import sanitize
from services.render.entries import EPOCH, feed_slug
from services.render.feeds import FeedSpec
from services.render.named import NamedFeed
from shared.models import Story

PREFIXES = {"section": "sections", "agency": "agencies", "contributor": "contributors"}
_SLUG = r"[a-z0-9][a-z0-9-]{0,127}"
_NAME = rf"all|{_SLUG}|(?:sections|agencies|contributors)/{_SLUG}"
ARCHIVE_LABEL = r"\d{4}-\d{2}-\d{2}-\d{1,9}"
DOCUMENT_PATH = re.compile(
    rf"^(?P<name>{_NAME})(?:/archive/(?P<page>{ARCHIVE_LABEL}))?\.(?P<fmt>rss|atom|json)$"
)


@dataclass(frozen=True)
class FeedInfo:
    """What the registry keeps about one feed: enough to title it without the settings."""

    name: str
    kind: str  # all | section | agency | contributor | named
    label: str
    description: str = ""
    language: str | None = None
    created: str | None = None  # ISO date-time the feed first existed (dates it while empty)

    def to_json(self) -> str:
        # the fields as they are (``asdict`` copies each deeply: every story paid it per feed)
        return json.dumps(vars(self), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str | bytes) -> FeedInfo:
        return cls(**json.loads(data))


ALL = FeedInfo(name="all", kind="all", label="all stories")


def named_info(feed: NamedFeed) -> FeedInfo:
    language = feed.languages[0] if len(feed.languages) == 1 else None
    return FeedInfo(
        name=feed.name,
        kind="named",
        label=feed.title,
        description=feed.description,
        language=language,
    )


def _derived(kind: str, value: str | None) -> FeedInfo | None:
    """The feed a section, agency or contributor name makes: label and slug both from the
    sanitised name (copy is untrusted), none when nothing is left of it."""
    label = sanitize.plain(value)
    if not label:
        return None
    return FeedInfo(name=f"{PREFIXES[kind]}/{feed_slug(label)}", kind=kind, label=label)


def memberships(story: Story, named: Sequence[NamedFeed]) -> dict[str, FeedInfo]:
    """Every feed ``story`` belongs in now; none when it is withdrawn or withheld."""
    if story.status != "usable":
        return {}
    derived = [
        _derived("section", story.section),
        _derived("agency", story.agency),
        *(_derived("contributor", person.name) for person in story.contributors),
    ]
    found = [ALL, *(info for info in derived if info is not None)]
    found += [named_info(feed) for feed in named if feed.matches(story)]
    return {info.name: info for info in found}


def spec_for(info: FeedInfo, *, base_url: str, title: str, language: str, max_age: int) -> FeedSpec:
    """The ``FeedSpec`` of a feed: titles and descriptions by kind.

    Every string passes ``sanitize.plain`` here, whatever its origin (a label taken from copy,
    a registry entry written by an older version, a named feed or the title setting), so feed
    titles and descriptions carry neither markup nor characters XML forbids.
    """
    label = sanitize.plain(info.label) or info.name
    title = sanitize.plain(title)
    titles = {
        "all": (f"{title}: all stories", "Every story from every wire, newest first."),
        "section": (f"{title}: {label}", f"Stories in the {label} section, newest first."),
        "agency": (f"{title}: {label}", f"Stories from {label}, newest first."),
        "contributor": (f"{title}: {label}", f"Stories by or with {label}, newest first."),
        "named": (label, sanitize.plain(info.description) or label),
    }
    feed_title, description = titles.get(info.kind, (label, label))
    feed_title, description = sanitize.plain(feed_title), sanitize.plain(description)
    created = datetime.fromisoformat(info.created) if info.created else EPOCH
    return FeedSpec(
        name=info.name,
        title=feed_title,
        description=description,
        base_url=base_url,
        language=info.language or language,
        max_age=max_age,
        created=created,
    )


def parse_document_path(path: str) -> tuple[str, str | None, str] | None:
    """``sections/world/archive/2026-03-04-2.atom`` → (``sections/world``, page, ``atom``);
    ``None`` for anything that is not the path of a feed document (including ``..`` tricks)."""
    match = DOCUMENT_PATH.match(path)
    if match is None:
        return None
    return match["name"], match["page"], match["fmt"]


def document_id(name: str, page: str | None = None) -> str:
    """How a document is named where render keeps track of it (the dirty set, stored bytes)."""
    return name if page is None else f"{name}/archive/{page}"


def split_document_id(document: str) -> tuple[str, str | None]:
    name, sep, page = document.partition("/archive/")
    return name, (page if sep else None)


def metric_feed(name: str, page: str | None = None) -> str:
    """The ``feed`` label of the render metrics: the feed's name, archive pages as
    ``{name}/archive``. Contributor feeds (one per person ever credited, without bound) count
    together as ``contributors/*``, so the series stay bounded by the sections, agencies and
    named feeds (a few hundred at most), times 2 (documents), times 3 (formats)."""
    base = (
        f"{PREFIXES['contributor']}/*" if name.startswith(f"{PREFIXES['contributor']}/") else name
    )
    return base if page is None else f"{base}/archive"
