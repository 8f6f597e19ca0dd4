"""A story as a feed entry, pure: the one mapping every format renders from.

Everything here is already safe to write (``sanitize``): plain text without markup or control
characters, HTML from an allowlist, absolute http(s) URLs only. The three renderers (RSS, Atom,
JSON Feed) only choose where each field goes.
"""

from __future__ import annotations

import html
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

from services.render import sanitize
from shared.models import Story
from shared.named_feeds import name_slug

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Roles that make a person an author of the story; every other role is a contributor.
AUTHOR_ROLES = frozenset({"reporting", "additional_reporting", "writing"})
SUMMARY_FALLBACK_CHARS = 300
#: Photos an entry carries at most (the first ones of the copy): a wire item may list thousands
#: (a whole gallery), which would make one entry bigger than a feed may be.
MAX_PHOTOS = 20
#: What the smallest form of an entry keeps (when a feed would pass its size limit otherwise).
SMALLEST_TEXT_CHARS = 300
SMALLEST_PEOPLE = 10
SMALLEST_PHOTOS = 1


def story_urn(story_id: str) -> str:
    """The entry id: stable across every version of the story."""
    return f"urn:syndicate:story:{story_id}"


def feed_slug(value: str) -> str:
    """The slug that names a section, agency or contributor feed.

    Built from the sanitised value (``sanitize.plain``: markup and control characters gone), so
    ``Sport<script>…</script>`` names ``sport`` like the label the feed shows. ASCII slugs when
    the name has letters or digits in ASCII transliteration; otherwise (a name written only in,
    say, Chinese or Arabic script) a short stable hash, so that two such names never share a feed.
    """
    return name_slug(value)


@dataclass(frozen=True)
class Person:
    name: str
    role: str
    kind: str
    uri: str


@dataclass(frozen=True)
class Photo:
    url: str | None
    caption: str
    credit: str
    media_type: str | None


@dataclass(frozen=True)
class Category:
    term: str
    scheme: str


@dataclass(frozen=True)
class Entry:
    """One story, ready to write in any format."""

    id: str
    story_id: str
    version: int
    title: str
    link: str
    summary: str
    content_html: str
    published: datetime
    updated: datetime
    language: str | None
    categories: tuple[Category, ...]
    people: tuple[Person, ...]
    photos: tuple[Photo, ...]
    correction: str | None
    credit_line: str | None
    agency: str | None
    section: str | None
    truncated: bool = False

    def __hash__(self) -> int:
        """Worked out once per entry: entries key the caches of their rendered elements, and
        hashing every field (the people, the categories) at each look-up was a visible part of
        a render."""
        cached: int | None = self.__dict__.get("_hash")
        if cached is None:
            cached = hash(tuple(getattr(self, name) for name in _ENTRY_FIELDS))
            object.__setattr__(self, "_hash", cached)  # frozen: not a field, not compared
        return cached

    @property
    def authors(self) -> tuple[Person, ...]:
        return tuple(p for p in self.people if p.role in AUTHOR_ROLES)

    @property
    def contributors(self) -> tuple[Person, ...]:
        return tuple(p for p in self.people if p.role not in AUTHOR_ROLES)

    @property
    def bylines(self) -> tuple[Person, ...]:
        """Who the entry is by: its authors, else the agency (Atom needs an author)."""
        if self.authors:
            return self.authors
        who = self.agency or "Syndicate"
        return (Person(name=who, role="reporting", kind="organization", uri=""),)


_ENTRY_FIELDS = tuple(f.name for f in fields(Entry))


@dataclass(frozen=True)
class Tombstone:
    """An entry removed from a feed (RFC 6721): its id and when it was removed."""

    ref: str
    when: datetime
    link: str | None = None
    comment: str = "Withdrawn"


def story_link(story: Story, base_url: str) -> str:
    """The story's own link when the copy had a safe one, else its page on our API."""
    for link in story.links or ():
        if safe := sanitize.safe_url(link):
            return safe
    return f"{base_url}/v1/stories/{story.id}"


def dateline_text(story: Story) -> str | None:
    """``MOSCOW, Feb 2 (Reuters)`` as the body shows it."""
    dateline = story.dateline
    if dateline is None or not dateline.place:
        return None
    text = dateline.place
    if dateline.date:
        try:
            when = datetime.fromisoformat(dateline.date)
        except ValueError:
            when = None
        if when is not None:
            text += f", {when.strftime('%b')} {when.day}"
    if dateline.agency:
        text += f" ({dateline.agency})"
    return sanitize.plain(text)


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def content_html(
    story: Story, *, max_chars: int | None = None, photos: Sequence[Photo] | None = None
) -> tuple[str, bool]:
    """The story body as sanitised HTML, and whether it was shortened to ``max_chars``.

    The correction note (when there is one) comes first; the dateline leads the first paragraph;
    a body paragraph that only repeats the headline is left out; the credit line closes.
    """
    parts: list[str] = []
    if story.correction:
        parts.append(f"<p><em>Correction: {_esc(sanitize.plain(story.correction))}</em></p>")
    lead = dateline_text(story)
    headline = sanitize.plain(story.headline).casefold()
    first_paragraph = True
    used = 0
    truncated = False
    for block in story.body:
        text = sanitize.plain(block.text)
        if not text or (first_paragraph and text.casefold() == headline):
            continue
        if max_chars is not None and used + len(text) > max_chars:
            truncated = True
            if used:
                break
            text = _cut(text, max_chars)  # the opening block alone is too long: cut it
        used += len(text)
        if block.type == "h2":
            parts.append(f"<h2>{_esc(text)}</h2>")
        elif first_paragraph and lead:
            parts.append(f"<p><strong>{_esc(lead)}</strong> — {_esc(text)}</p>")
            first_paragraph = False
        else:
            parts.append(f"<p>{_esc(text)}</p>")
            first_paragraph = False
        if truncated:
            break
    for photo in _photos(story) if photos is None else photos:
        credit = f"({photo.credit})" if photo.credit else ""
        caption = " ".join(x for x in (photo.caption, credit) if x)
        if photo.url:
            parts.append(
                f'<figure><img src="{_esc(photo.url)}" alt="{_esc(photo.caption)}"/>'
                f"<figcaption>{_esc(caption)}</figcaption></figure>"
            )
        elif caption:  # known only by caption and credit: Media RSS has no place for it
            parts.append(f"<figure><figcaption>{_esc(caption)}</figcaption></figure>")
    if story.credit_line and not truncated:
        parts.append(f"<p>({_esc(sanitize.plain(story.credit_line))})</p>")
    return sanitize.clean_html("\n".join(parts)), truncated


def _photos(story: Story) -> list[Photo]:
    """The story's usable photos, the first ``MAX_PHOTOS`` of them."""
    photos: list[Photo] = []
    for photo in story.photos:
        if len(photos) == MAX_PHOTOS:
            break
        url = sanitize.safe_url(photo.url)
        media_type = None
        if url:
            guessed, _ = mimetypes.guess_type(urlsplit(url).path)
            media_type = guessed if guessed and guessed.startswith("image/") else None
        caption, credit = sanitize.plain(photo.caption), sanitize.plain(photo.credit)
        if url or caption or credit:
            photos.append(Photo(url=url, caption=caption, credit=credit, media_type=media_type))
    return photos


def _cut(text: str, max_chars: int) -> str:
    """``text`` cut at a word to about ``max_chars`` characters, with an ellipsis when cut."""
    if len(text) <= max_chars:
        return text
    return text[:max_chars].rsplit(" ", 1)[0] + "…"


def _summary(story: Story) -> str:
    if story.summary and (summary := sanitize.plain(story.summary)):
        return summary
    for block in story.body:
        if block.type == "p" and (text := sanitize.plain(block.text)):
            return _cut(text, SUMMARY_FALLBACK_CHARS)
    return sanitize.plain(story.headline)


def _language(value: str | None) -> str | None:
    if not value:
        return None
    tag = value.strip().replace("_", "-")
    parts = tag.split("-")
    if all(part.isascii() and part.isalnum() and 1 <= len(part) <= 8 for part in parts):
        return tag
    return None


def entry_of(story: Story, base_url: str) -> Entry:
    """The entry for one story version."""
    photos = _photos(story)
    content, _ = content_html(story, photos=photos)
    people = []
    seen: set[tuple[str, str]] = set()
    for person in story.contributors:
        name = sanitize.plain(person.name)
        if not name or (name, person.role) in seen:
            continue
        seen.add((name, person.role))
        people.append(
            Person(
                name=name,
                role=person.role,
                kind=person.kind,
                uri=f"{base_url}/feeds/contributors/{feed_slug(name)}.atom",
            )
        )
    categories = []
    if story.section and (section := sanitize.plain(story.section)):
        categories.append(Category(term=section, scheme=f"{base_url}/feeds/sections"))
    if story.agency and (agency := sanitize.plain(story.agency)):
        categories.append(Category(term=agency, scheme=f"{base_url}/feeds/agencies"))
    return Entry(
        id=story_urn(story.id),
        story_id=story.id,
        version=story.version,
        title=sanitize.plain(story.headline) or story.id,
        link=story_link(story, base_url),
        summary=_summary(story),
        content_html=content,
        published=story.first_published,
        updated=story.updated,
        language=_language(story.language),
        categories=tuple(categories),
        people=tuple(people),
        photos=tuple(photos),
        correction=sanitize.plain(story.correction) or None,
        credit_line=sanitize.plain(story.credit_line) or None,
        agency=sanitize.plain(story.agency) or None,
        section=sanitize.plain(story.section) or None,
    )


def shortened(entry: Entry, story: Story, max_chars: int) -> Entry:
    """``entry`` with its body cut to about ``max_chars`` characters (to keep a feed small)."""
    content, truncated = content_html(story, max_chars=max_chars, photos=entry.photos)
    if truncated:
        content += _read_more(entry)
    return replace(entry, content_html=content, truncated=truncated)


def smallest(entry: Entry, story: Story) -> Entry:
    """The least of ``entry`` a feed may show: the body's opening (``SMALLEST_TEXT_CHARS``)
    and a link to the full story, the summary, credit line and correction cut as short, the
    first photo and the first ``SMALLEST_PEOPLE`` people. For a story too big for a feed."""
    photos = entry.photos[:SMALLEST_PHOTOS]
    content, _ = content_html(story, max_chars=SMALLEST_TEXT_CHARS, photos=photos)
    return replace(
        entry,
        summary=_cut(entry.summary, SMALLEST_TEXT_CHARS),
        content_html=content + _read_more(entry),
        people=entry.people[:SMALLEST_PEOPLE],
        photos=photos,
        correction=_cut(entry.correction, SMALLEST_TEXT_CHARS) if entry.correction else None,
        credit_line=_cut(entry.credit_line, SMALLEST_TEXT_CHARS) if entry.credit_line else None,
        truncated=True,
    )


def _read_more(entry: Entry) -> str:
    return sanitize.clean_html(f'\n<p><a href="{_esc(entry.link)}">Read the full story</a></p>')


def feed_updated(
    entries: Sequence[Entry], tombstones: Sequence[Tombstone] = (), empty: datetime = EPOCH
) -> datetime:
    """The feed's ``updated``: the newest entry update or removal (``empty`` when there is none:
    when the feed was created).

    Never the clock: two renders of the same data give the same bytes.
    """
    times = [entry.updated for entry in entries] + [t.when for t in tombstones]
    return max(times, default=empty)
