"""HTML article pages (republished wire stories): main content, byline, credits and photos.

The story text is extracted with trafilatura (scripts, styles, navigation and most boilerplate
dropped). Around it, from the page itself:

- the headline: ``og:title``/``twitter:title`` (a `` | Site`` or `` - Site`` suffix removed), else
  the ``<h1>``, else ``<title>``;
- the byline: the first short "By …" element (or one marked ``byline``/``author``) after the
  ``<h1>``, else the page's author metadata (``meta name=author``, JSON-LD);
- credit lines the extractor left out (Bloomberg's "With assistance from", "Edited by:",
  "To contact the reporter…"): short elements after the ``<h1>`` that read as credits;
- photos: captions and credits (``figcaption``, ``*caption*``/``*credit*`` elements, ``img``
  ``alt``/``title``) between the ``<h1>`` and the end of the story text, so that related-story
  widgets do not lend the story their photographers.

Everything then goes through the same normalisation as every other format.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import trafilatura
from lxml import etree
from lxml import html as lxml_html

from services.ingest import attribution
from services.ingest.agencies import canonical_agency
from services.ingest.assemble import GLUED_DATELINE, Copy, cut_at_credit, normalise
from services.ingest.dateline import parse_dateline
from services.ingest.draft import Draft
from services.ingest.photos import (
    caption_and_credit,
    credit_segment,
    looks_like_photo_credit,
    photographers,
)
from services.ingest.textclean import clean_inline, fold
from shared.errors import ParseError
from shared.models import Photo

_AUTHOR_META = (
    "author",
    "sailthru.author",
    "analyticsattributes.author",
    "article:author",
    "byl",
    "dc.creator",
)
_MARKED = re.compile(r"byline|author", re.IGNORECASE)
_CAPTIONED = re.compile(r"caption|credit", re.IGNORECASE)
_BY = re.compile(r"^\s*By\s+\S", re.IGNORECASE)
_SITE_SUFFIX = re.compile(r"\s+[|–—-]\s+[^|–—-]{2,40}$")
_MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")


def _is_tag(element: Any) -> bool:
    """An element, not a comment or processing instruction (their ``tag`` is a function)."""
    return isinstance(element.tag, str)


def _text(element: Any) -> str:
    return str(element.text_content())


def _meta(doc: etree._Element, *names: str) -> str | None:
    for element in doc.iter("meta"):
        key = (element.get("name") or element.get("property") or "").lower()
        if key in names:
            value = element.get("content") or element.get("value")
            if value and value.strip():
                return clean_inline(value)
    return None


def _headline(doc: etree._Element, fallback: str, site: str | None) -> str:
    """``og:title`` (without a site suffix), else a marked headline, else the ``<h1>``, else title."""
    social = _SITE_SUFFIX.sub("", _meta(doc, "og:title", "twitter:title") or "")
    generic = re.search(r"(?i)latest news|headlines|breaking news|home ?page", social) or (
        site and fold(site).split(".")[0] in fold(social)
    )
    if social and not generic:
        return social
    for element in doc.iter():
        if not _is_tag(element):
            continue
        marks = " ".join(element.get(a) or "" for a in ("class", "itemprop"))
        if element.tag == "h1" or re.search(r"\b(?:headline|entry-title)\b", marks):
            text = clean_inline(_text(element))
            if len(text.split()) >= 3 and (not site or fold(text) != fold(site)):
                return text
    return _SITE_SUFFIX.sub("", fallback) if fallback else ""


def _json_ld_authors(doc: etree._Element) -> list[str]:
    names: list[str] = []
    for script in doc.iter("script"):
        if (script.get("type") or "").lower() != "application/ld+json" or not script.text:
            continue
        try:
            data: Any = json.loads(script.text)
        except ValueError:
            continue
        for entry in data if isinstance(data, list) else [data]:
            author = entry.get("author") if isinstance(entry, dict) else None
            for person in author if isinstance(author, list) else [author]:
                if isinstance(person, dict) and isinstance(person.get("name"), str):
                    names.append(person["name"])
                elif isinstance(person, str):
                    names.append(person)
    return names


def _byline_of(element: etree._Element) -> str | None:
    """A "By …" element's byline; nested bylines (a wrapper holding name and date) give the
    innermost element that still reads as one."""
    if element.tag in ("script", "style", "meta") or not _is_tag(element):
        return None
    text = clean_inline(_text(element))
    if not text or len(text) > 160:
        return None
    marked = _MARKED.search(
        " ".join(element.get(a) or "" for a in ("class", "id", "itemprop", "rel"))
    )
    if not (_BY.match(text) or (marked and len(text.split()) <= 8)):
        return None
    for sub in element:
        # a wrapper (byline plus date): the inner element that is a whole "By …" line wins
        if _is_tag(sub) and _BY.match(clean_inline(_text(sub))):
            inner = _byline_of(sub)
            if inner:
                return inner
    candidate = text if _BY.match(text) else f"By {text}"
    return candidate if attribution.parse_byline(candidate) else None


def _byline(
    doc: etree._Element,
    after_h1: list[etree._Element],
    extracted_author: str | None,
    site: str | None,
) -> str | None:
    for element in after_h1:
        if (found := _byline_of(element)) is not None:
            return found
    for author in (
        _meta(doc, *_AUTHOR_META),
        "; ".join(_json_ld_authors(doc)) or None,
        extracted_author,
    ):
        if author and not (site and fold(site.split(".")[0]) in fold(author)):
            candidate = "By " + re.sub(r"\s*;\s*", " and ", author.removeprefix("By ").strip())
            if attribution.parse_byline(candidate):
                return candidate
    return None


def _story_end(ordered: list[etree._Element], start: int, last_line: str) -> int:
    """Index of the element holding the story's last line (its credit line, usually)."""
    key = last_line[:40]
    for index in range(start, len(ordered)):
        element = ordered[index]
        if (
            _is_tag(element)
            and key
            and (key in clean_inline(element.text or "") or key in clean_inline(element.tail or ""))
        ):
            return index
    return len(ordered)


def _lead_paragraph(ordered: list[etree._Element], start: int, lines: list[str]) -> str | None:
    """The dateline paragraph when the extractor lost it (glued to page chrome): the first text
    after the headline that opens with, or holds, a dateline."""
    if any(parse_dateline(line) or GLUED_DATELINE.search(line) for line in lines[:8]):
        return None
    for element in ordered[start:]:
        if not _is_tag(element) or element.tag in ("script", "style"):
            continue
        for raw in (element.text, element.tail):
            text = clean_inline(raw or "")
            if len(text.split()) < 8:
                continue
            if parse_dateline(text):
                return text
            if match := GLUED_DATELINE.search(text):
                return text[match.start() :]
    return None


def _photos(ordered: list[etree._Element], start: int, end: int) -> list[Photo]:
    photos: list[Photo] = []
    seen: set[str] = set()
    for element in ordered[start : end + 1]:
        if not _is_tag(element):
            continue
        texts: list[str] = []
        if element.tag == "img":
            texts += [element.get("alt") or "", element.get("title") or ""]
        elif element.tag == "figcaption" or _CAPTIONED.search(element.get("class") or ""):
            texts.append(_text(element))
        for raw in texts:
            text = clean_inline(raw)
            if not text or not looks_like_photo_credit(text) or not photographers(text):
                continue
            segment, _ = credit_segment(text)
            if fold(segment) in seen:
                continue
            seen.add(fold(segment))
            caption, credit = caption_and_credit(text)
            photos.append(Photo(caption=caption, credit=credit))
    return photos


def _credit_lines(ordered: list[etree._Element], start: int, body: set[str]) -> list[str]:
    lines: list[str] = []
    for element in ordered[start:]:
        if not _is_tag(element) or element.tag in ("script", "style", "a"):
            continue
        text = clean_inline(_text(element))
        if not text or len(text) > 300 or fold(text) in body:
            continue
        if (
            attribution.is_credit_trailer(text)
            and attribution.parse_credit_line(text).parsed
            and all(fold(text) != fold(seen) for seen in lines)
        ):
            lines.append(text)
    return lines


def parse_html(page: str, *, received: datetime | None = None) -> Draft:
    """Extract the article from a page and normalise it like any other copy."""
    try:
        doc = lxml_html.document_fromstring(page)
    except (etree.ParserError, ValueError) as exc:
        raise ParseError(f"unreadable HTML: {exc}", format="html") from None
    extracted = trafilatura.bare_extraction(
        page, include_comments=False, include_tables=False, with_metadata=True
    )
    if extracted is None:
        raise ParseError("no article text found in the page", format="html")
    data = extracted.as_dict() if hasattr(extracted, "as_dict") else dict(extracted)
    text = _MARKDOWN_IMAGE.sub("", data.get("text") or "")
    lines = [clean_inline(line).lstrip("-• ").strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise ParseError("no article text found in the page", format="html")
    ordered = list(doc.iter())
    h1 = next(iter(doc.iter("h1")), None)
    start = ordered.index(h1) if h1 is not None else 0
    if lead := _lead_paragraph(ordered, start, lines):
        lines.insert(0, lead)
    story = [text for _, text in cut_at_credit([("p", line) for line in lines])]
    end = _story_end(ordered, start, story[-1])
    site = clean_inline(data.get("sitename") or "") or _meta(doc, "og:site_name")
    copy = Copy(
        format="html",
        headline=_headline(doc, clean_inline(data.get("title") or ""), site),
        blocks=[("p", line) for line in story],
        byline=_byline(doc, ordered[start:], data.get("author"), site),
        credit_lines=_credit_lines(ordered, start, {fold(line) for line in lines}),
        publisher=site,
        default_agency=canonical_agency(site or ""),
        photos=_photos(ordered, start, end),
        language=(doc.get("lang") or None),
        page=True,
    )
    if not clean_inline(copy.headline):
        raise ParseError("no headline found in the page", format="html")
    return normalise(copy, received)
