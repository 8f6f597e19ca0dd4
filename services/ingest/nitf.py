"""NITF 3.x (News Industry Text Format): one ``<nitf>`` document, one story.

What maps where (docs/formats.md): ``hedline/hl1`` → headline; ``abstract`` → summary;
``byline`` (its ``byttl`` job title dropped) → byline people; ``distributor`` and
``doc.copyright@holder`` → agency; ``dateline`` → dateline (a dateline opening the first paragraph
wins); ``body.content`` paragraphs and ``hl2`` subheads → body; ``media`` → photos (caption from
``media-caption``, credit from ``media-producer``); ``docdata@management-status`` ``canceled`` →
kill, ``withheld`` → withhold; ``du-key@key`` (else ``management-doc-idref``, else ``doc-id``) →
guid and ``du-key@version`` → source version; ``docdata/correction@info`` → correction note;
``date.issue@norm`` / ``pubdata@date.publication`` → published.
"""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from services.ingest.assemble import Copy, normalise
from services.ingest.body import blocks_from_element
from services.ingest.dates import parse_datetime
from services.ingest.draft import Draft, Signal
from services.ingest.numbers import version_number
from services.ingest.textclean import clean_inline
from services.ingest.xmlsafe import child, first, local, parse_xml, text_of
from shared.errors import ParseError
from shared.models import Photo

_STATUS_SIGNAL: dict[str, Signal] = {
    "canceled": "kill",
    "cancelled": "kill",
    "withheld": "withhold",
}


def _attr(element: etree._Element | None, name: str) -> str | None:
    if element is None:
        return None
    value = element.get(name)
    return value.strip() if value and value.strip() else None


def _byline(element: etree._Element | None) -> str | None:
    """The byline's names without its ``byttl`` job title."""
    if element is None:
        return None
    parts = [element.text or ""]
    for sub in element:
        if local(sub.tag) != "byttl":
            parts.append(text_of(sub))
        parts.append(sub.tail or "")
    return clean_inline(" ".join(parts)) or None


def photos_of(root: etree._Element) -> list[Photo]:
    photos: list[Photo] = []
    for media in root.iter():
        if local(media.tag) != "media" or (media.get("media-type") or "image") not in (
            "image",
            "photo",
        ):
            continue
        reference = first(media, "media-reference")
        caption = clean_inline(text_of(first(media, "media-caption")))
        credit = clean_inline(text_of(first(media, "media-producer")))
        url = _attr(reference, "source")
        if caption or credit:
            photos.append(Photo(url=url, caption=caption, credit=credit))
    return photos


def nitf_copy(root: etree._Element, fmt: str = "nitf") -> Copy:
    """Decode one ``<nitf>`` element (also used for NITF inside NewsML-G2 and NewsML 1.2)."""
    head = child(root, "head")
    body = child(root, "body")
    docdata = first(head, "docdata") if head is not None else None
    body_head = child(body, "body.head")
    content = child(body, "body.content")
    du_key = first(docdata, "du-key") if docdata is not None else None
    doc_id = first(docdata, "doc-id") if docdata is not None else None
    status = (_attr(docdata, "management-status") or "").lower()
    version = _attr(du_key, "version")
    correction = _attr(first(docdata, "correction") if docdata is not None else None, "info")
    dateline_el = first(body_head, "dateline") if body_head is not None else None
    published = parse_datetime(
        _attr(first(docdata, "date.issue") if docdata is not None else None, "norm")
        or _attr(first(head, "pubdata") if head is not None else None, "date.publication")
    )
    headline = clean_inline(text_of(first(body_head, "hl1") if body_head is not None else None))
    if not headline and head is not None:
        headline = clean_inline(text_of(child(head, "title")))
    abstract = first(body_head, "abstract") if body_head is not None else None
    copyright_el = first(docdata, "doc.copyright") if docdata is not None else None
    distributor = first(body_head, "distributor") if body_head is not None else None
    return Copy(
        format=fmt,
        headline=headline,
        blocks=blocks_from_element(content) if content is not None else [],
        byline=_byline(first(body_head, "byline") if body_head is not None else None),
        dateline=clean_inline(text_of(dateline_el)) or None,
        agency=clean_inline(text_of(distributor)) or _attr(copyright_el, "holder"),
        summary=clean_inline(text_of(abstract)) or None,
        language=_attr(root, "baselang")
        or _attr(
            first(content, "p") if content is not None else None,
            "{http://www.w3.org/XML/1998/namespace}lang",
        ),
        guid=_attr(du_key, "key")
        or _attr(docdata, "management-doc-idref")
        or _attr(doc_id, "id-string"),
        provider=_attr(doc_id, "regsrc"),
        source_version=version_number(version),
        published=published,
        signal=_STATUS_SIGNAL.get(status),
        correction=correction,
        photos=photos_of(content) if content is not None else [],
    )


def parse_nitf(text: str, received: datetime | None = None) -> list[Draft]:
    root = parse_xml(text, fmt="nitf")
    if local(root.tag) != "nitf":
        raise ParseError(f"not NITF: the root element is <{local(root.tag)}>", format="nitf")
    copy = nitf_copy(root)
    if not copy.headline:
        raise ParseError("the NITF document has no headline (hl1 or title)", format="nitf")
    return [normalise(copy, received)]
