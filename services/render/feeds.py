"""Stories to RSS 2.0 and Atom 1.0 bytes with feedgen: pure, deterministic, no clock.

Two renders of the same stories give the same bytes: the feed's ``updated``/``lastBuildDate``
come from the newest entry, never from the clock, so ETags stay stable and readers see no
phantom updates. feedgen traps handled here: ``updated`` would default to now (always set);
``add_entry`` prepends unless told to append (we append, newest first); the RSS channel ``link``
is whichever link was added last (the alternate link is added last); RSS has no hub link (our
extension adds it); name-only RSS authors are dropped (we write ``dc:creator``).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from shared.models import Story

ATOM_NS = "http://www.w3.org/2005/Atom"
GENERATOR = "Syndicate"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
AUTHOR_ROLES = frozenset({"reporting", "writing", "additional_reporting"})


@dataclass(frozen=True)
class FeedSpec:
    """What a feed is called and where it lives."""

    name: str
    title: str
    description: str
    base_url: str
    language: str = "en"

    def url(self, fmt: str) -> str:
        return f"{self.base_url}/feeds/{self.name}.{fmt}"

    @property
    def hub_url(self) -> str:
        return f"{self.base_url}/websub"

    @property
    def alternate_url(self) -> str:
        return f"{self.base_url}/feeds"


def story_urn(story_id: str) -> str:
    """The entry id: stable across every version of the story."""
    return f"urn:syndicate:story:{story_id}"


def story_link(story: Story, base_url: str) -> str:
    return story.links[0] if story.links else f"{base_url}/v1/stories/{story.id}"


def dateline_text(story: Story) -> str | None:
    """``MOSCOW, Feb 2 (Reuters)`` as the body shows it."""
    dateline = story.dateline
    if dateline is None or not dateline.place:
        return None
    text = dateline.place
    if dateline.date:
        when = datetime.fromisoformat(dateline.date)
        text += f", {when.strftime('%b')} {when.day}"
    if dateline.agency:
        text += f" ({dateline.agency})"
    return text


def content_html(story: Story) -> str:
    """The story body as simple, escaped HTML; the dateline leads the first paragraph."""
    parts: list[str] = []
    lead = dateline_text(story)
    if story.correction:
        parts.append(f"<p><em>Correction: {html.escape(story.correction, quote=False)}</em></p>")
    first_paragraph = True
    for block in story.body:
        text = html.escape(block.text, quote=False)
        if block.type == "h2":
            parts.append(f"<h2>{text}</h2>")
            continue
        if first_paragraph and lead:
            text = f"<strong>{html.escape(lead, quote=False)}</strong> — {text}"
        first_paragraph = False
        parts.append(f"<p>{text}</p>")
    if story.credit_line:
        parts.append(f"<p>({html.escape(story.credit_line, quote=False)})</p>")
    return "\n".join(parts)


def feed_updated(stories: Sequence[Story]) -> datetime:
    """The newest ``updated`` among the entries (the epoch for an empty feed)."""
    return max((story.updated for story in stories), default=EPOCH)


class _HubLinkExtension(BaseExtension):  # type: ignore[misc]
    """Adds ``atom:link rel="hub"`` to the RSS channel (feedgen writes only ``self``)."""

    hub: str | None = None

    def extend_ns(self) -> dict[str, str]:
        return {"atom": ATOM_NS}

    def extend_rss(self, feed: etree._Element) -> etree._Element:
        channel = feed[0]
        if self.hub:
            link = etree.SubElement(channel, f"{{{ATOM_NS}}}link")
            link.attrib["href"] = self.hub
            link.attrib["rel"] = "hub"
        return feed

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        return feed


def _generator(spec: FeedSpec, stories: Sequence[Story], fmt: str) -> FeedGenerator:
    fg = FeedGenerator()
    fg.load_extension("dc")
    fg.register_extension("hublink", _HubLinkExtension, _HubLinkExtension, atom=False, rss=True)
    fg.hublink.hub = spec.hub_url
    fg.id(spec.url("atom"))
    fg.title(spec.title)
    fg.description(spec.description)
    fg.subtitle(spec.description)
    fg.language(spec.language)
    fg.generator(GENERATOR)
    fg.updated(feed_updated(stories))
    fg.lastBuildDate(feed_updated(stories))
    fg.link(href=spec.url(fmt), rel="self", type=_MEDIA[fmt])
    if fmt == "atom":
        fg.link(href=spec.hub_url, rel="hub")
    fg.link(href=spec.alternate_url, rel="alternate")  # last: it becomes the RSS <link>
    for story in stories:
        _add_entry(fg, story, spec, fmt)
    return fg


_MEDIA = {"rss": "application/rss+xml", "atom": "application/atom+xml"}


def _add_entry(fg: FeedGenerator, story: Story, spec: FeedSpec, fmt: str) -> None:
    fe = fg.add_entry(order="append")
    fe.id(story_urn(story.id))
    fe.guid(story_urn(story.id), permalink=False)
    fe.title(story.headline)
    fe.link(href=story_link(story, spec.base_url), rel="alternate")
    if story.summary:
        fe.summary(story.summary)
        fe.description(story.summary)
    fe.content(content_html(story), type="html")
    fe.published(story.first_published)
    fe.updated(story.updated)
    for category in (story.section, story.agency):
        if category:
            fe.category(term=category, label=category)
    for person in story.contributors:
        if person.role in AUTHOR_ROLES:
            fe.author(name=person.name)
        else:
            fe.contributor(name=person.name)
        if fmt == "rss":  # RSS drops name-only authors; Atom has author/contributor already
            fe.dc.dc_creator(person.name)


def render_rss(spec: FeedSpec, stories: Sequence[Story]) -> bytes:
    """RSS 2.0 bytes for ``stories`` (newest first, as given)."""
    return bytes(_generator(spec, stories, "rss").rss_str(pretty=True))


def render_atom(spec: FeedSpec, stories: Sequence[Story]) -> bytes:
    """Atom 1.0 bytes for ``stories`` (newest first, as given)."""
    return bytes(_generator(spec, stories, "atom").atom_str(pretty=True))


RENDERERS = {"rss": render_rss, "atom": render_atom}
