"""Copy is untrusted: what leaves ingest is plain text and http(s) links, never markup.

Every text field of a draft (headline, summary, section, body, credit line, names, places,
captions, credits, correction) loses anything tag-like; ``<script>``, ``<style>``, ``<iframe>`` and
the like lose their content too. Text that merely holds a ``<`` (``Inflation < 2%``) is left as it
is. Story JSON (the API, webhook payloads) is therefore safe to drop into a page even by a
partner who forgets to escape it; render still escapes and sanitises for each feed format.
Links and photo URLs that are not absolute http(s) (``javascript:``, ``data:``) are dropped.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import nh3

from services.ingest.draft import Draft
from services.ingest.textclean import clean_inline
from shared.errors import ParseError
from shared.models import BodyBlock, Contributor, Dateline, Photo

_TAG = re.compile(r"</?[A-Za-z!][^<>]*>|<!--|<\?")
_DROP_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "noscript", "template"}


def text_only(value: str) -> str:
    """``value`` without markup: cleaned until nothing tag-like is left (entities that spelt a
    tag, ``&lt;script&gt;``, are caught on the next round)."""
    for _ in range(4):
        if "<" not in value or not _TAG.search(value):
            return value
        cleaned = nh3.clean(value, tags=set(), clean_content_tags=set(_DROP_WITH_CONTENT))
        value = clean_inline(html.unescape(cleaned))
    return clean_inline(value.replace("<", "‹").replace(">", "›"))


def _maybe(value: str | None) -> str | None:
    return text_only(value) or None if value is not None else None


def http_url(value: str | None) -> str | None:
    """``value`` when it is an absolute http(s) URL without spaces or controls, else ``None``."""
    if not value:
        return None
    value = value.strip()
    if any(ch.isspace() or ord(ch) < 32 or ch in '"<>\\' for ch in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return value


def _needs_work(draft: Draft) -> bool:
    """Cheap check: does any field hold a ``<`` or a link that is not plainly http(s)?"""
    texts = [draft.headline, draft.section, draft.summary, draft.credit_line, draft.correction]
    texts += [block.text for block in draft.body]
    texts += [p.name + (p.location or "") for p in draft.contributors]
    texts += [p.caption + p.credit for p in draft.photos]
    texts += [draft.dateline.place or ""] if draft.dateline else []
    texts += [draft.publisher, draft.agency]
    if any(text and "<" in text for text in texts):
        return True
    urls = [*draft.links, *(p.url for p in draft.photos if p.url)]
    return any(http_url(url) != url for url in urls)


def sanitise(draft: Draft) -> Draft:
    """The draft with plain-text fields and http(s) links only (the same draft when clean).

    A draft whose headline is empty (nothing but flags such as ``UPDATE 2-``) is a ``ParseError``:
    a story needs a headline."""
    if not draft.headline.strip():
        raise ParseError("the copy has no headline once its flags are removed", format=draft.format)
    if not _needs_work(draft):
        return draft
    headline = text_only(draft.headline)
    if not headline:
        raise ParseError("the headline is nothing but markup", format=draft.format)
    body = [
        BodyBlock(type=block.type, text=text)
        for block in draft.body
        if (text := text_only(block.text))
    ]
    contributors = [
        Contributor(
            name=name, role=p.role, kind=p.kind, location=_maybe(p.location) if p.location else None
        )
        for p in draft.contributors
        if (name := text_only(p.name))
    ]
    photos = [
        Photo(url=http_url(p.url), caption=text_only(p.caption), credit=text_only(p.credit))
        for p in draft.photos
    ]
    dateline = draft.dateline
    if dateline is not None and dateline.place:
        dateline = Dateline(
            place=_maybe(dateline.place), date=dateline.date, agency=dateline.agency
        )
    return draft.model_copy(
        update={
            "headline": headline,
            "section": _maybe(draft.section),
            "summary": _maybe(draft.summary),
            "credit_line": _maybe(draft.credit_line),
            "correction": _maybe(draft.correction),
            "publisher": _maybe(draft.publisher),
            "agency": _maybe(draft.agency),
            "body": body,
            "contributors": contributors,
            "photos": photos,
            "dateline": dateline,
            "links": [url for url in draft.links if http_url(url)],
        }
    )
