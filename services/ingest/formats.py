"""Which format a piece of copy is in, and the parser that reads it.

A ``Content-Type`` that names a format wins; ``application/octet-stream`` (or a generic type such
as ``text/plain`` for XML) means: look at the content. Every parser takes the decoded text and a
``ParseContext`` and returns one draft per story the copy holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.ingest.decoding import decode
from services.ingest.draft import Draft
from services.ingest.text import parse_text
from shared.errors import ParseError, UnsupportedMediaType


@dataclass(frozen=True)
class ParseContext:
    received: datetime | None = None
    content_type: str = "application/octet-stream"


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
    """Guess the format from the content itself."""
    head = text.lstrip("\ufeff \t\r\n")[:2048].lower()
    if head.startswith(("{", "[")):
        return "json"
    if head.startswith("<"):
        if "<html" in head or "<!doctype html" in head or "<body" in head:
            return "html"
        return "xml"
    return "text"


def _text(text: str, ctx: ParseContext) -> list[Draft]:
    return [parse_text(text, received=ctx.received)]


def _html(text: str, ctx: ParseContext) -> list[Draft]:
    from services.ingest.html import parse_html

    return [parse_html(text, received=ctx.received)]


PARSERS: dict[str, Parser] = {
    "text": _text,
    "html": _html,
}


def parse(data: bytes, ctx: ParseContext) -> list[Draft]:
    """Decode, detect and parse: the one entry point of ingest's pure pipeline."""
    fmt = format_for_media_type(ctx.content_type)
    text = decode(data, ctx.content_type)
    if fmt == "auto":
        fmt = detect(text)
    parser = PARSERS.get(fmt)
    if parser is None:
        raise ParseError(f"no parser for {fmt} copy yet", format=fmt)
    drafts = parser(text, ctx)
    if not drafts:
        raise ParseError("the copy holds no story", format=fmt)
    return drafts
