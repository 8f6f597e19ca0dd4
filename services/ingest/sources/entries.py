"""A fetched or pushed feed, split into entries that ingest reads like any pushed copy. Pure.

Each entry becomes a **one-entry document in the feed's own format**: the whole document with
every other item/entry left out, so the channel (its title: the publisher), the namespace
declarations and the entry's own markup reach ``syndication.py`` untouched, and the one identity
rule (``guid``/``id``, else the link) applies as it does to pushed copy. JSON Feed: the top-level
object with ``items`` holding that one item.

Each entry has a **key** (``guid:…``, else ``link:…``, else ``hash:…``) and a **digest** (SHA-256
of its canonical XML, C14N, or of its JSON with sorted keys): an entry is new when its key is
unknown, changed when the key is known with another digest, and seen otherwise. Within one
document only the first entry of a key counts (feeds list the newest first).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from services.ingest.decoding import decode
from services.ingest.formats import sniff
from services.ingest.sources.model import FEED_CONTENT_TYPES
from services.ingest.syndication import looks_like_json_feed
from services.ingest.xmlsafe import child, children, local, parse_json, parse_xml, text_of
from shared.errors import ParseError

#: keys longer than this are kept as a hash of themselves
MAX_KEY_CHARS = 400


@dataclass(frozen=True)
class Entry:
    """One item/entry of a feed, ready to be stored as a raw item."""

    key: str
    digest: str
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Document:
    """What a feed document holds: its format, its entries, the WebSub links it advertises."""

    format: str
    entries: list[Entry] = field(default_factory=list)
    hubs: list[str] = field(default_factory=list)
    self_url: str | None = None


def entry_key(guid: str | None, link: str | None, digest: str) -> str:
    """The identity of an entry across polls: its guid/id, else its link, else its digest."""
    for kind, value in (("guid", guid), ("link", link)):
        text = " ".join((value or "").split())
        if text:
            if len(text) > MAX_KEY_CHARS:
                return f"{kind}#{hashlib.sha256(text.encode()).hexdigest()}"
            return f"{kind}:{text}"
    return f"hash:{digest}"


def split(data: bytes, content_type: str = "", forced: str = "auto") -> Document:
    """Split a feed into entries; ``ParseError`` when it is not a feed we can read (or not of
    the ``forced`` format)."""
    text = decode(data, content_type)
    fmt = sniff(text)
    if fmt not in FEED_CONTENT_TYPES:
        raise ParseError(f"not a feed: the document reads as {fmt}", format=fmt)
    if forced not in ("auto", fmt):
        raise ParseError(f"the source is read as {forced}, but the document is {fmt}", format=fmt)
    if fmt == "jsonfeed":
        return _split_json(text)
    return _split_xml(text, fmt)


# --- RSS and Atom --------------------------------------------------------------------------------


def _split_xml(text: str, fmt: str) -> Document:
    root = parse_xml(text, fmt=fmt)
    name = local(root.tag)
    if name in ("item", "entry"):  # a lone item/entry is its own one-entry document
        return Document(format=fmt, entries=[_xml_entry(root, root, fmt)])
    if name in ("rss", "RDF"):
        container = child(root, "channel")
        items = children(container, "item") if container is not None else []
        if not items:  # RSS 1.0 keeps items beside the channel
            container, items = root, children(root, "item")
        head = container if container is not None else root
    elif name == "feed":
        container = head = root
        items = children(root, "entry")
    else:
        raise ParseError(f"not RSS or Atom: the root element is <{name}>", format=fmt)
    hubs, self_url = _xml_links(head)
    if container is None or not items:
        return Document(format=fmt, hubs=hubs, self_url=self_url)
    # every item out, then each one back in alone, serialised, and out again
    position = container.index(items[0])
    for item in items:
        container.remove(item)
    entries: list[Entry] = []
    for item in items:
        container.insert(position, item)
        entries.append(_xml_entry(item, root, fmt))
        container.remove(item)
    return Document(format=fmt, entries=_first_of_each_key(entries), hubs=hubs, self_url=self_url)


def _xml_entry(item: etree._Element, root: etree._Element, fmt: str) -> Entry:
    digest = hashlib.sha256(etree.tostring(item, method="c14n")).hexdigest()
    link: str | None
    if fmt == "rss":
        guid = text_of(child(item, "guid"))
        link = text_of(child(item, "link"))
    else:
        guid = text_of(child(item, "id"))
        link = next(
            (
                ln.get("href")
                for ln in children(item, "link")
                if ln.get("rel") in (None, "alternate")
            ),
            None,
        )
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return Entry(entry_key(guid, link, digest), digest, body, FEED_CONTENT_TYPES[fmt])


def _xml_links(head: etree._Element) -> tuple[list[str], str | None]:
    """``<link rel="hub">`` (Atom, or atom:link in an RSS channel) and ``rel="self"``."""
    hubs: list[str] = []
    self_url: str | None = None
    for element in children(head, "link"):
        rel = (element.get("rel") or "").strip().lower()
        href = (element.get("href") or "").strip()
        if not href:
            continue
        if rel == "hub" and href not in hubs:
            hubs.append(href)
        elif rel == "self" and self_url is None:
            self_url = href
    return hubs, self_url


# --- JSON Feed -----------------------------------------------------------------------------------


def _split_json(text: str) -> Document:
    document = parse_json(text, fmt="jsonfeed")
    if not looks_like_json_feed(document):
        raise ParseError("not a JSON Feed (no jsonfeed.org version)", format="jsonfeed")
    raw_items = document.get("items")
    items = [i for i in raw_items if isinstance(i, dict)] if isinstance(raw_items, list) else []
    entries = [_json_entry(document, item) for item in items]
    hubs = [
        str(hub["url"])
        for hub in document.get("hubs") or []
        if isinstance(hub, dict)
        and isinstance(hub.get("url"), str)
        and str(hub.get("type", "")).lower() == "websub"
    ]
    self_url = document.get("feed_url") if isinstance(document.get("feed_url"), str) else None
    return Document(
        format="jsonfeed", entries=_first_of_each_key(entries), hubs=hubs, self_url=self_url
    )


def _json_entry(document: Mapping[str, Any], item: Mapping[str, Any]) -> Entry:
    canonical = json.dumps(item, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    guid = item.get("id")
    link = item.get("url")
    one = {**document, "items": [item]}
    body = json.dumps(one, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Entry(
        entry_key(
            str(guid) if guid not in (None, "") else None,
            link if isinstance(link, str) else None,
            digest,
        ),
        digest,
        body,
        FEED_CONTENT_TYPES["jsonfeed"],
    )


def _first_of_each_key(entries: list[Entry]) -> list[Entry]:
    seen: set[str] = set()
    kept: list[Entry] = []
    for entry in entries:
        if entry.key not in seen:
            seen.add(entry.key)
            kept.append(entry)
    return kept


def iter_new(entries: list[Entry], known: Mapping[str, str | None]) -> Iterator[tuple[Entry, bool]]:
    """Entries to take, oldest first (feeds list the newest first), each with whether it is a
    change of one taken before; ``known`` maps each entry's key to the digest last taken."""
    for entry in reversed(entries):
        before = known.get(entry.key)
        if before != entry.digest:
            yield entry, before is not None
