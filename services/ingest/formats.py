"""Which format a piece of copy is in, and the parser that reads it.

A ``Content-Type`` that names a format wins; a generic one (``application/octet-stream``,
``text/plain``, ``application/xml``, ``application/json``) means: look at the content. XML is told
apart by its root element, JSON by its shape, the teletype formats by their control characters.
Every parser takes the decoded text and a ``ParseContext`` and returns one draft per story.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.ingest import teletype
from services.ingest.agencies import canonical_agency
from services.ingest.anpa1312 import parse_anpa1312
from services.ingest.decoding import decode
from services.ingest.draft import Draft
from services.ingest.iptc7901 import parse_iptc7901
from services.ingest.newsml12 import parse_newsml12
from services.ingest.newsml_g2 import parse_newsml_g2
from services.ingest.ninjs import looks_like_ninjs, parse_ninjs
from services.ingest.nitf import parse_nitf
from services.ingest.syndication import looks_like_json_feed, parse_feed_xml, parse_json_feed
from services.ingest.text import parse_text
from services.ingest.xmlsafe import parse_json
from shared.errors import ParseError, UnsupportedMediaType


@dataclass(frozen=True)
class ParseContext:
    received: datetime | None = None
    content_type: str = "application/octet-stream"
    #: a format forced by the caller (``syndicate parse --format``); wins over everything
    format: str | None = None
    #: the agency of the source the copy came from (issue #6): used when the copy names none
    default_agency: str | None = None


Parser = Callable[[str, ParseContext], list[Draft]]

#: media type (without parameters) -> format name; ``auto`` means detect from the content
MEDIA_TYPES: dict[str, str] = {
    "application/octet-stream": "auto",
    "text/plain": "auto",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/xml": "auto",
    "text/xml": "auto",
    "application/json": "auto",
    "application/nitf+xml": "nitf",
    "application/vnd.iptc.g2.newsitem+xml": "newsml-g2",
    "application/vnd.iptc.g2.newsmessage+xml": "newsml-g2",
    "application/vnd.iptc.newsml+xml": "newsml-1.2",
    "application/ninjs+json": "ninjs",
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/feed+json": "jsonfeed",
    "text/x-iptc7901": "iptc7901",
    "text/x-anpa1312": "anpa1312",
    "text/x-wire": "text",
}
#: formats whose body must be well-formed XML / JSON (the API checks these before 202)
XML_FORMATS = frozenset({"nitf", "newsml-g2", "newsml-1.2", "rss", "atom"})
JSON_FORMATS = frozenset({"ninjs", "jsonfeed"})

_ROOT = re.compile(r"<(?![?!])(?:[\w.-]+:)?(?P<name>[A-Za-z_][\w.-]*)")
_XML_ROOTS = {
    "nitf": "nitf",
    "newsMessage": "newsml-g2",
    "newsItem": "newsml-g2",
    "packageItem": "newsml-g2",
    "conceptItem": "newsml-g2",
    "knowledgeItem": "newsml-g2",
    "planningItem": "newsml-g2",
    "NewsML": "newsml-1.2",
    "NewsItem": "newsml-1.2",
    "rss": "rss",
    "RDF": "rss",
    "item": "rss",
    "feed": "atom",
    "entry": "atom",
    "html": "html",
}
#: roots that make markup an HTML page (or a fragment of one) rather than XML of some vocabulary:
#: pages saved without a doctype or ``<html>`` (compared lower-cased: HTML is case-insensitive)
HTML_ROOTS = frozenset(
    {"html", "head", "body", "meta", "title", "link", "base", "style", "script", "noscript",
     "div", "article", "section", "main", "header", "footer", "nav", "aside", "figure", "p",
     "h1", "h2", "h3", "h4", "h5", "h6", "span", "a", "img", "ul", "ol", "table", "form",
     "blockquote", "br", "hr", "center", "font", "b", "i", "em", "strong"}
)  # fmt: skip


def format_for_media_type(content_type: str) -> str:
    """The format a ``Content-Type`` names (``auto`` to detect); 415 for types we do not take."""
    media_type = content_type.split(";", 1)[0].strip().lower() or "application/octet-stream"
    try:
        return MEDIA_TYPES[media_type]
    except KeyError:
        raise UnsupportedMediaType(
            f"Content-Type {media_type!r} is not a format we take; send one of "
            f"{', '.join(sorted(MEDIA_TYPES))}."
        ) from None


def detect(text: str) -> str:
    """The family of the content: ``json``, ``xml``, ``html``, ``teletype`` or ``text``."""
    head = text.lstrip("\ufeff \t\r\n")[:2048].lower()
    if teletype.looks_like_teletype(text):
        return "teletype"
    if head.startswith(("{", "[")):
        return "json"
    if head.startswith("<"):
        if "<!doctype html" in head or (root_name(text) or "").lower() in HTML_ROOTS:
            return "html"
        return "xml"
    return "text"


def root_name(text: str) -> str | None:
    """The local name of the root element, read without parsing (comments and DOCTYPE skipped)."""
    body = re.sub(r"<!--.*?-->", "", text[:65536], flags=re.DOTALL)
    body = re.sub(r"<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>", "", body, flags=re.DOTALL | re.IGNORECASE)
    match = _ROOT.search(body)
    return match["name"] if match else None


def sniff(text: str) -> str:
    """The format of the content itself (a ``ParseError`` for XML or JSON of no known kind)."""
    family = detect(text)
    if family == "teletype":
        return "anpa1312" if teletype.looks_like_anpa(text) else "iptc7901"
    if family == "xml":
        name = root_name(text)
        if name in _XML_ROOTS:
            return _XML_ROOTS[name]
        raise ParseError(
            f"XML of no vocabulary we read (root element <{name}>); we read NITF, NewsML-G2, "
            "NewsML 1.2, RSS and Atom",
            format="xml",
        )
    if family == "json":
        document = parse_json(text)
        if looks_like_json_feed(document):
            return "jsonfeed"
        if looks_like_ninjs(document):
            return "ninjs"
        raise ParseError("JSON that is neither ninjs nor JSON Feed", format="json")
    return family


def _html(text: str, ctx: ParseContext) -> list[Draft]:
    from services.ingest.html import parse_html  # trafilatura is slow to import: only when needed

    return [parse_html(text, received=ctx.received)]


PARSERS: dict[str, Parser] = {
    "text": lambda text, ctx: [parse_text(text, received=ctx.received)],
    "html": _html,
    "nitf": lambda text, ctx: parse_nitf(text, ctx.received),
    "newsml-g2": lambda text, ctx: parse_newsml_g2(text, ctx.received),
    "newsml-1.2": lambda text, ctx: parse_newsml12(text, ctx.received),
    "ninjs": lambda text, ctx: parse_ninjs(text, ctx.received),
    "rss": lambda text, ctx: parse_feed_xml(text, ctx.received),
    "atom": lambda text, ctx: parse_feed_xml(text, ctx.received),
    "jsonfeed": lambda text, ctx: parse_json_feed(text, ctx.received),
    "iptc7901": lambda text, ctx: parse_iptc7901(text, ctx.received),
    "anpa1312": lambda text, ctx: parse_anpa1312(text, ctx.received),
}
#: every format a caller may force (``syndicate parse --format``)
FORMATS: tuple[str, ...] = tuple(PARSERS)


def resolve_format(text: str, ctx: ParseContext) -> str:
    """The format to parse ``text`` as: forced, else named by the Content-Type, else sniffed."""
    if ctx.format:
        if ctx.format not in PARSERS:
            raise ParseError(f"unknown format {ctx.format!r}; one of {', '.join(FORMATS)}")
        return ctx.format
    fmt = format_for_media_type(ctx.content_type)
    return sniff(text) if fmt == "auto" else fmt


def parse(data: bytes, ctx: ParseContext) -> list[Draft]:
    """Decode, detect and parse: the one entry point of ingest's pure pipeline."""
    text = decode(data, ctx.content_type)
    fmt = resolve_format(text, ctx)
    drafts = PARSERS[fmt](text, ctx)
    if not drafts:
        raise ParseError("the copy holds no story", format=fmt)
    if ctx.default_agency:
        # last in the agency precedence chain: only where the copy itself names no agency
        default = canonical_agency(ctx.default_agency) or ctx.default_agency
        drafts = [d if d.agency else d.model_copy(update={"agency": default}) for d in drafts]
    return drafts
