"""IPTC NewsML 1.2, as AFP sends it: ``NewsML`` → ``NewsItem`` (one story each).

What maps where (docs/formats.md): ``PublicIdentifier`` without its revision (else
``ProviderId:NewsItemId``) → guid; ``RevisionId`` → source version (``@Update="U"`` → update);
``Status@FormalName`` ``Canceled`` → kill, ``Withheld`` → withhold; ``NewsLines``: ``HeadLine``,
``DateLine``, ``ByLine``, ``CreditLine``; ``Language@FormalName``; ``Provider/Party`` → default
agency; the text ``ContentItem``'s NITF ``body.content`` → body (AFP's closing desk codes such as
``hh/ph/ts/hd`` leave it); ``FirstCreated``/``ThisRevisionCreated`` → dates.
"""

from __future__ import annotations

import re
from datetime import datetime

from lxml import etree

from services.ingest.agencies import canonical_agency
from services.ingest.assemble import Copy, normalise
from services.ingest.body import blocks_from_element
from services.ingest.dates import parse_datetime
from services.ingest.draft import Draft, Signal
from services.ingest.nitf import nitf_copy
from services.ingest.numbers import version_number
from services.ingest.textclean import clean_inline, paragraphs
from services.ingest.xmlsafe import child, descendants, first, local, parse_xml, text_of
from shared.errors import ParseError

_STATUS: dict[str, Signal] = {"canceled": "kill", "cancelled": "kill", "withheld": "withhold"}


def _formal(element: etree._Element | None) -> str:
    return (element.get("FormalName") or "").strip() if element is not None else ""


def _text_item(component: etree._Element) -> etree._Element | None:
    """The ContentItem holding the story text (MediaType Text), at any depth."""
    for item in descendants(component, "ContentItem"):
        if (
            _formal(child(item, "MediaType")).lower() in ("text", "")
            and first(item, "DataContent") is not None
        ):
            return item
    return None


def _guid(identification: etree._Element | None) -> str | None:
    if identification is None:
        return None
    public = clean_inline(text_of(first(identification, "PublicIdentifier")))
    if public:
        return re.sub(r":\d+[A-Z]?$", "", public)
    provider = clean_inline(text_of(first(identification, "ProviderId")))
    item_id = clean_inline(text_of(first(identification, "NewsItemId")))
    return f"urn:newsml:{provider}:{item_id}" if item_id else None


def _item_copy(item: etree._Element) -> Copy:
    identification = child(item, "Identification")
    management = child(item, "NewsManagement")
    component = first(item, "NewsComponent")
    if component is None:
        raise ParseError("a NewsML 1.2 NewsItem without a NewsComponent", format="newsml-1.2")
    lines = first(component, "NewsLines")
    revision = first(identification, "RevisionId") if identification is not None else None
    revision_text = clean_inline(text_of(revision))
    status = _formal(child(management, "Status") if management is not None else None).lower()
    signal = _STATUS.get(status)
    if signal is None and revision is not None and (revision.get("Update") or "").upper() == "U":
        signal = "update"
    content = _text_item(component)
    data = first(content, "DataContent") if content is not None else None
    embedded: Copy | None = None
    blocks: list[tuple[str, str]] = []
    if data is not None:
        nitf = first(data, "nitf")
        if nitf is not None:
            embedded = nitf_copy(nitf, "newsml-1.2")
            blocks = embedded.blocks
        elif len(data):
            blocks = blocks_from_element(data)
        else:
            blocks = [("p", p) for p in paragraphs(text_of(data))]
    provider = first(component, "Provider")
    language = first(component, "Language")
    credit = clean_inline(text_of(first(lines, "CreditLine"))) if lines is not None else ""
    return Copy(
        format="newsml-1.2",
        headline=clean_inline(text_of(first(lines, "HeadLine"))) if lines is not None else "",
        blocks=blocks,
        byline=(clean_inline(text_of(first(lines, "ByLine"))) if lines is not None else None)
        or None,
        dateline=(clean_inline(text_of(first(lines, "DateLine"))) if lines is not None else None)
        or None,
        agency=canonical_agency(credit),
        default_agency=canonical_agency(
            _formal(first(provider, "Party")) if provider is not None else ""
        ),
        language=_formal(language) or item.get("{http://www.w3.org/XML/1998/namespace}lang"),
        guid=_guid(identification),
        source_version=version_number(revision_text),
        published=parse_datetime(
            text_of(first(management, "ThisRevisionCreated")) if management is not None else None
        ),
        first_created=parse_datetime(
            text_of(first(management, "FirstCreated")) if management is not None else None
        ),
        signal=signal,
        photos=embedded.photos if embedded else [],
    )


def parse_newsml12(text: str, received: datetime | None = None) -> list[Draft]:
    root = parse_xml(text, fmt="newsml-1.2")
    if local(root.tag) not in ("NewsML", "NewsItem"):
        raise ParseError(
            f"not NewsML 1.2: the root element is <{local(root.tag)}>", format="newsml-1.2"
        )
    items = [root] if local(root.tag) == "NewsItem" else descendants(root, "NewsItem")
    drafts = []
    for item in items:
        copy = _item_copy(item)
        if copy.headline:
            drafts.append(normalise(copy, received))
    if not drafts:
        raise ParseError(
            "the NewsML 1.2 document holds no item with a headline", format="newsml-1.2"
        )
    return drafts
