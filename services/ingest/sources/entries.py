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
    the ``forced`` format), and nothing else whatever the upstream sends: a document that trips
    us up is still the document's error (kept and quarantined), never a crashed poll or push."""
    try:
        return _split(data, content_type, forced)
    except ParseError:
        raise
    except Exception as exc:  # whatever a document does to us, it is its own error
        raise ParseError(f"the feed could not be split: {type(exc).__name__}: {exc}") from exc


def _split(data: bytes, content_type: str, forced: str) -> Document:
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
    """Every member we read is type-checked (JSON Feed 1.1): a feed whose ``items`` or ``hubs``
    is not an array, or whose item ``id`` is an object, is malformed, not a crash."""
    document = parse_json(text, fmt="jsonfeed")
    if not looks_like_json_feed(document):
        raise ParseError("not a JSON Feed (no jsonfeed.org version)", format="jsonfeed")
    items = [_member(item, dict, f"items[{n}]") for n, item in enumerate(_array(document, "items"))]
    entries = [_json_entry(document, item, n) for n, item in enumerate(items)]
    hubs: list[str] = []
    for n, hub in enumerate(_array(document, "hubs")):
        hub = _member(hub, dict, f"hubs[{n}]")
        kind = _optional(hub, "type", str, f"hubs[{n}].type")
        url = _optional(hub, "url", str, f"hubs[{n}].url")
        if url and (kind or "").lower() == "websub" and url not in hubs:
            hubs.append(url)
    self_url = _optional(document, "feed_url", str, "feed_url")
    return Document(
        format="jsonfeed", entries=_first_of_each_key(entries), hubs=hubs, self_url=self_url
    )


def _malformed(where: str, value: object, wanted: str) -> ParseError:
    return ParseError(
        f"malformed JSON Feed: {where} is {type(value).__name__}, not {wanted}", format="jsonfeed"
    )


_WANTED: dict[type, str] = {dict: "an object", list: "an array", str: "a string"}


def _member(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind):
        raise _malformed(where, value, _WANTED[kind])
    return value


def _array(document: Mapping[str, Any], name: str) -> list[Any]:
    """An optional array member (absent or ``null``: empty)."""
    value = document.get(name)
    return [] if value is None else list(_member(value, list, name))


def _optional(holder: Mapping[str, Any], name: str, kind: type, where: str) -> Any:
    value = holder.get(name)
    return None if value is None else _member(value, kind, where)


def _json_entry(document: Mapping[str, Any], item: Mapping[str, Any], n: int) -> Entry:
    canonical = json.dumps(item, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    guid = item.get("id")
    # JSON Feed: an id that is a number is read as a string; anything else is no id at all
    if isinstance(guid, bool) or not isinstance(guid, str | int | float | None):
        raise _malformed(f"items[{n}].id", guid, "a string")
    link = _optional(item, "url", str, f"items[{n}].url")
    one = {**document, "items": [item]}
    body = json.dumps(one, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Entry(
        entry_key(str(guid) if guid not in (None, "") else None, link, digest),
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
