"""RSS 2.0, Atom 1.0 and JSON Feed: one item or a whole feed, one story per entry.

What maps where (docs/formats.md): ``guid`` (RSS) / ``id`` (Atom, JSON Feed), else the link →
guid; ``title`` → headline; ``content:encoded`` / Atom ``content`` / ``content_html`` → body
(``description``/``summary`` → summary, and body when there is no content); ``dc:creator``,
``author`` → byline; first ``category`` → section; ``pubDate``/``published``/``updated`` → dates;
``media:content``/``enclosure`` images with ``media:description``/``media:credit`` → photos;
the channel/feed title → publisher.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lxml import etree

from services.ingest.assemble import Copy, normalise
from services.ingest.body import blocks_from_element, blocks_from_html
from services.ingest.dates import parse_datetime
from services.ingest.draft import Draft
from services.ingest.textclean import clean_inline, paragraphs
from services.ingest.xmlsafe import child, children, local, parse_json, parse_xml, text_of
from shared.errors import ParseError
from shared.models import Photo


def _text(element: etree._Element | None, name: str) -> str:
    return clean_inline(text_of(child(element, name))) if element is not None else ""


def _photos(entry: etree._Element) -> list[Photo]:
    photos: list[Photo] = []
    for element in entry.iter():
        name = local(element.tag)
        if name not in ("content", "enclosure", "thumbnail") or element is entry:
            continue
        kind = (element.get("type") or element.get("medium") or "").lower()
        url = element.get("url")
        if not url or not ("image" in kind or name == "thumbnail"):
            continue
        caption = clean_inline(
            text_of(child(element, "description")) or text_of(child(element, "title"))
        )
        credit = clean_inline(text_of(child(element, "credit")))
        if all(p.url != url for p in photos):
            photos.append(Photo(url=url, caption=caption, credit=credit))
    return photos


def _rss_item(item: etree._Element, publisher: str | None) -> Copy:
    content = next((c for c in children(item, "encoded")), None)
    description = text_of(child(item, "description"))
    body_html = text_of(content) if content is not None else description
    guid = _text(item, "guid") or _text(item, "link")
    categories = children(item, "category")
    return Copy(
        format="rss",
        headline=_text(item, "title"),
        blocks=blocks_from_html(body_html),
        byline=_text(item, "creator") or _text(item, "author") or None,
        publisher=publisher,
        section=clean_inline(text_of(categories[0])) if categories else None,
        summary=clean_inline(" ".join(t for _, t in blocks_from_html(description)))
        if content is not None
        else None,
        guid=guid or None,
        published=parse_datetime(_text(item, "pubDate") or _text(item, "date")),
        photos=_photos(item),
        links=[link] if (link := _text(item, "link")) else [],
    )


def _atom_entry(entry: etree._Element, publisher: str | None) -> Copy:
    content = child(entry, "content")
    summary = child(entry, "summary")
    source = content if content is not None else summary
    blocks: list[tuple[str, str]] = []
    if source is not None:
        kind = (source.get("type") or "text").lower()
        if kind == "xhtml" and len(source):
            blocks = blocks_from_element(source[0])
        elif kind == "html":
            blocks = blocks_from_html(text_of(source))
        else:
            blocks = [("p", p) for p in paragraphs(text_of(source))]
    author = child(entry, "author")
    category = child(entry, "category")
    link = next(
        (ln.get("href") for ln in children(entry, "link") if ln.get("rel") in (None, "alternate")),
        None,
    )
    return Copy(
        format="atom",
        headline=_text(entry, "title"),
        blocks=blocks,
        byline=_text(author, "name") or None,
        publisher=publisher,
        section=(category.get("label") or category.get("term")) if category is not None else None,
        summary=clean_inline(text_of(summary))
        if (summary is not None and content is not None)
        else None,
        guid=_text(entry, "id") or link,
        published=parse_datetime(_text(entry, "updated") or _text(entry, "published")),
        first_created=parse_datetime(_text(entry, "published")),
        photos=_photos(entry),
        links=[link] if link else [],
    )


def parse_feed_xml(text: str, received: datetime | None = None) -> list[Draft]:
    root = parse_xml(text, fmt="feed")
    name = local(root.tag)
    copies: list[Copy]
    if name in ("rss", "RDF"):
        channel = child(root, "channel")
        publisher = _text(channel, "title") or None
        items = children(channel, "item") if channel is not None else []
        items = items or children(root, "item")  # RSS 1.0 keeps items beside the channel
        copies = [_rss_item(item, publisher) for item in items]
    elif name == "feed":
        publisher = _text(root, "title") or None
        copies = [_atom_entry(entry, publisher) for entry in children(root, "entry")]
    elif name == "item":
        copies = [_rss_item(root, None)]
    elif name == "entry":
        copies = [_atom_entry(root, None)]
    else:
        raise ParseError(f"not RSS or Atom: the root element is <{name}>", format="feed")
    if not copies:
        raise ParseError("the feed holds no items", format="feed")
    return [
        normalise(copy, received) for copy in copies if clean_inline(copy.headline)
    ] or _no_titles()


def _no_titles() -> list[Draft]:
    raise ParseError("no feed entry has a title", format="feed")


def _string(value: Any) -> str:
    """A JSON Feed string field; anything else (a list, an object, a number) counts as absent."""
    return value if isinstance(value, str) else ""


def _json_feed_item(item: dict[str, Any], publisher: str | None) -> Copy:
    authors = item.get("authors") or (
        [item["author"]] if isinstance(item.get("author"), dict) else []
    )
    names = [
        str(a["name"])
        for a in (authors if isinstance(authors, list) else [])
        if isinstance(a, dict) and isinstance(a.get("name"), str)
    ]
    html = item.get("content_html") if isinstance(item.get("content_html"), str) else None
    plain = _string(item.get("content_text"))
    tags = (
        [t for t in item.get("tags") or [] if isinstance(t, str)]
        if isinstance(item.get("tags"), list)
        else []
    )
    image = _string(item.get("image")) or None
    item_id = item.get("id")
    guid = str(item_id) if isinstance(item_id, str | int) and not isinstance(item_id, bool) else ""
    return Copy(
        format="jsonfeed",
        headline=_string(item.get("title")),
        blocks=blocks_from_html(html)
        if html is not None
        else [("p", p) for p in paragraphs(plain)],
        byline=("By " + " and ".join(names)) if names else None,
        publisher=publisher,
        section=tags[0] if tags else None,
        summary=_string(item.get("summary")) or None,
        guid=guid or _string(item.get("url")) or None,
        published=parse_datetime(
            _string(item.get("date_modified")) or _string(item.get("date_published"))
        ),
        first_created=parse_datetime(_string(item.get("date_published"))),
        photos=[Photo(url=image)] if image else [],
        links=[url] if (url := _string(item.get("url"))) else [],
    )


def looks_like_json_feed(document: Any) -> bool:
    return isinstance(document, dict) and str(document.get("version", "")).startswith(
        "https://jsonfeed.org/"
    )


def parse_json_feed(text: str, received: datetime | None = None) -> list[Draft]:
    document = parse_json(text, fmt="jsonfeed")
    if not looks_like_json_feed(document):
        raise ParseError("not a JSON Feed (no jsonfeed.org version)", format="jsonfeed")
    publisher = document.get("title") if isinstance(document.get("title"), str) else None
    items = (
        [i for i in document.get("items") or [] if isinstance(i, dict)]
        if isinstance(document.get("items"), list)
        else []
    )
    copies = [_json_feed_item(item, publisher) for item in items]
    return [
        normalise(copy, received) for copy in copies if clean_inline(copy.headline)
    ] or _no_titles()
