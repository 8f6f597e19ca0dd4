"""Small feedgen extensions for what feedgen 1.0.0 lacks or gets wrong (pure XML building).

- RSS channel: ``atom:link`` for ``hub`` and the RFC 5005 archive relations (feedgen writes only
  ``self`` into RSS); ``sy:updatePeriod``/``sy:updateFrequency`` spelt as the module defines them
  (feedgen's syndication extension writes ``sy:UpdatePeriod``, which validators refuse);
  ``fh:archive`` on archive pages.
- Atom feed: ``fh:archive`` and RFC 6721 ``at:deleted-entry`` tombstones.
- Entries: Media RSS ``media:content`` with ``media:credit`` and ``media:description`` written
  directly under the item, for photos with a URL only (feedgen's media extension always wraps
  them in ``media:group`` and has no ``media:credit``); ``dc:creator`` per person and ``dcterms:modified`` in RSS (feedgen drops
  name-only RSS authors); Atom entry links written with their ``rel``/``type`` (feedgen loses both
  as soon as an entry has two links) and the entry's ``xml:lang``.

The namespaces are declared once on the root by the feed-level classes (``extend_ns``), so every
element uses its standard prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from lxml import etree

from services.render.entries import Entry, Photo, Tombstone

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
DC_NS = "http://purl.org/dc/elements/1.1/"
DCTERMS_NS = "http://purl.org/dc/terms/"
SY_NS = "http://purl.org/rss/1.0/modules/syndication/"
FH_NS = "http://purl.org/syndication/history/1.0"
AT_NS = "http://purl.org/atompub/tombstones/1.0"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

Link = tuple[str, str, str | None]  # rel, href, type


def _sub(parent: Any, ns: str, tag: str, text: str | None = None, **attrib: str) -> Any:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", attrib)
    if text is not None:
        element.text = text
    return element


def _w3cdtf(value: Any) -> str:
    return str(value.isoformat())


class RssChannelExtension(BaseExtension):  # type: ignore[misc]
    """Channel elements of RSS that feedgen cannot write."""

    def __init__(self) -> None:
        self.links: list[Link] = []
        self.update_frequency: int | None = None
        self.archive = False

    def extend_ns(self) -> dict[str, str]:
        return {
            "atom": ATOM_NS,
            "dc": DC_NS,
            "dcterms": DCTERMS_NS,
            "media": MEDIA_NS,
            "sy": SY_NS,
            "fh": FH_NS,
        }

    def extend_rss(self, feed: Any) -> Any:
        channel = feed[0]
        for rel, href, media_type in self.links:
            link = _sub(channel, ATOM_NS, "link", href=href, rel=rel)
            if media_type:
                link.attrib["type"] = media_type
        if self.update_frequency:
            _sub(channel, SY_NS, "updatePeriod", "hourly")
            _sub(channel, SY_NS, "updateFrequency", str(self.update_frequency))
        if self.archive:
            _sub(channel, FH_NS, "archive")
        return feed

    def extend_atom(self, feed: Any) -> Any:
        return feed


class AtomFeedExtension(BaseExtension):  # type: ignore[misc]
    """Feed elements of Atom that feedgen cannot write: archive marker and tombstones."""

    def __init__(self) -> None:
        self.archive = False
        self.tombstones: Sequence[Tombstone] = ()

    def extend_ns(self) -> dict[str, str]:
        return {"media": MEDIA_NS, "fh": FH_NS, "at": AT_NS}

    def extend_atom(self, feed: Any) -> Any:
        if self.archive:
            _sub(feed, FH_NS, "archive")
        for tombstone in self.tombstones:
            deleted = _sub(feed, AT_NS, "deleted-entry", ref=tombstone.ref)
            deleted.attrib["when"] = _w3cdtf(tombstone.when)
            if tombstone.link:
                # feedgen's Atom elements carry no namespace of their own: the root declares
                # Atom as the default namespace, so ours must be written the same way
                etree.SubElement(deleted, "link", href=tombstone.link, rel="alternate")
            if tombstone.comment:
                _sub(deleted, AT_NS, "comment", tombstone.comment)
        return feed

    def extend_rss(self, feed: Any) -> Any:
        return feed


def _media(parent: Any, photos: Sequence[Photo]) -> None:
    """Media RSS without ``media:group``: one ``media:content`` per photo with a URL, its
    ``media:description`` and ``media:credit`` inside it. A photo known only by caption and
    credit is not a media object: Media RSS elements at item level apply to every media object
    of the item, so its credit there would be claimed for the other photos. It is left out here
    (the body shows it as a captioned figure, JSON Feed in ``_syndicate.photos``)."""
    for photo in photos:
        if not photo.url:
            continue
        holder = _sub(parent, MEDIA_NS, "content", url=photo.url, medium="image")
        if photo.media_type:
            holder.attrib["type"] = photo.media_type
        if photo.caption:
            _sub(holder, MEDIA_NS, "description", photo.caption, type="plain")
        if photo.credit:
            _sub(holder, MEDIA_NS, "credit", photo.credit, role="photographer", scheme="urn:ebu")


class MediaEntryExtension(BaseEntryExtension):  # type: ignore[misc]
    """Photos as Media RSS, in RSS items and Atom entries alike."""

    def __init__(self) -> None:
        self.photos: Sequence[Photo] = ()

    def extend_rss(self, entry: Any) -> Any:
        _media(entry, self.photos)
        return entry

    def extend_atom(self, entry: Any) -> Any:
        _media(entry, self.photos)
        return entry


class RssEntryExtension(BaseEntryExtension):  # type: ignore[misc]
    """``dc:creator`` per person and ``dcterms:modified`` in RSS items."""

    def __init__(self) -> None:
        self.entry: Entry | None = None

    def extend_rss(self, item: Any) -> Any:
        if self.entry is None:
            return item
        for person in self.entry.people or self.entry.bylines:
            _sub(item, DC_NS, "creator", person.name)
        _sub(item, DCTERMS_NS, "modified", _w3cdtf(self.entry.updated))
        return item

    def extend_atom(self, entry: Any) -> Any:
        return entry


class AtomEntryExtension(BaseEntryExtension):  # type: ignore[misc]
    """Atom entry links with their ``rel`` and ``type`` intact, and the entry's language."""

    def __init__(self) -> None:
        self.links: list[Link] = []
        self.language: str | None = None

    def extend_atom(self, entry: Any) -> Any:
        if self.language:
            entry.attrib[XML_LANG] = self.language
        for rel, href, media_type in self.links:
            link = etree.SubElement(entry, "link", href=href, rel=rel)  # default namespace
            if media_type:
                link.attrib["type"] = media_type
        return entry

    def extend_rss(self, item: Any) -> Any:
        return item


def register(fg: Any, fmt: str) -> None:
    """Load our feed-level extensions into a FeedGenerator for one format (``rss``/``atom``);
    they also declare the namespaces the entry extensions use."""
    if fmt == "rss":
        fg.register_extension("synchannel", RssChannelExtension, None, atom=False, rss=True)
    else:
        fg.register_extension("synfeed", AtomFeedExtension, None, atom=True, rss=False)


def register_entry(fe: Any, fmt: str) -> None:
    """Load our entry extensions into a FeedEntry for one format."""
    rss, atom = fmt == "rss", fmt == "atom"
    fe.register_extension("synmedia", MediaEntryExtension, atom=atom, rss=rss)
    if rss:
        fe.register_extension("synitem", RssEntryExtension, atom=False, rss=True)
    else:
        fe.register_extension("synentry", AtomEntryExtension, atom=True, rss=False)
