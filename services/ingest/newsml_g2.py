"""IPTC NewsML-G2: a ``newsItem``, or a ``newsMessage`` whose ``itemSet`` holds several.

One story per text ``newsItem``; picture, video and graphic items carry no story text and are
skipped (a message of nothing else is a parse error, so it is quarantined with that reason), as
are ``packageItem``s. What maps where (docs/formats.md): ``@guid``/``@version`` → guid and source
version; ``pubStatus`` ``stat:canceled`` → kill, ``stat:withheld`` → withhold; ``signal``
``sig:correction``/``edStat:C`` → correction, ``sig:update``/``edStat:U`` → update,
``edStat:D`` → kill; ``headline``, ``by``, ``dateline``, ``located``, ``creditline``,
``description[@role=drol:summary]``, ``language``, ``memberOf`` (section); ``creator`` and
``contributor`` → contributors with their structured roles; ``inlineXML`` (XHTML or NITF) or
``inlineData`` → body; ``versionCreated``/``firstCreated`` → dates.
"""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from services.ingest.agencies import canonical_agency
from services.ingest.assemble import Copy, normalise
from services.ingest.body import blocks_from_element
from services.ingest.dates import parse_datetime
from services.ingest.draft import Draft, Signal
from services.ingest.nitf import nitf_copy
from services.ingest.numbers import version_number
from services.ingest.personnames import is_person_name, proper_case
from services.ingest.textclean import clean_inline, paragraphs
from services.ingest.xmlsafe import child, children, descendants, first, local, parse_xml, text_of
from shared.errors import ParseError
from shared.models import Contributor, Role

_NOT_TEXT = ("picture", "graphic", "video", "audio", "composite", "animation")
_STATUS_SIGNAL: dict[str, Signal] = {
    "canceled": "kill",
    "cancelled": "kill",
    "withheld": "withhold",
}
_SIGNAL_CODES: dict[str, Signal] = {
    "sig:correction": "correction",
    "edstat:c": "correction",
    "sig:update": "update",
    "edstat:u": "update",
    "edstat:d": "kill",
    "sig:kill": "kill",
}
#: words in a creator/contributor role qcode -> our role
_ROLE_WORDS: tuple[tuple[str, Role], ...] = (
    ("editor", "editing"),
    ("photo", "photography"),
    ("camera", "video"),
    ("video", "video"),
    ("graphic", "graphics"),
    ("translat", "translation"),
    ("research", "research"),
    ("writer", "writing"),
    ("author", "reporting"),
    ("reporter", "reporting"),
    ("correspondent", "reporting"),
    ("contributor", "contributing"),
)


def _qcode(element: etree._Element | None) -> str:
    return (element.get("qcode") or "").strip().lower() if element is not None else ""


def _name(element: etree._Element) -> str:
    return clean_inline(text_of(child(element, "name"))) or clean_inline(
        element.get("literal") or ""
    )


def _role(element: etree._Element, default: Role) -> Role | None:
    """The structured role of a creator/contributor; ``None`` for a source (an agency, not a person)."""
    role = (element.get("role") or "").lower()
    if "source" in role or "origprov" in role or "provider" in role:
        return None
    return next((ours for word, ours in _ROLE_WORDS if word in role), default)


def _people(meta: etree._Element) -> tuple[list[Contributor], str | None]:
    """Contributors from ``creator``/``contributor`` (roles kept), and an agency they name."""
    people: list[Contributor] = []
    agency: str | None = None
    for element in [*children(meta, "creator"), *children(meta, "contributor")]:
        name = _name(element)
        if not name:
            continue
        default: Role = "reporting" if local(element.tag) == "creator" else "contributing"
        role = _role(element, default)
        kind = (element.get("type") or "").lower()
        known = canonical_agency(name)
        if known or "organi" in kind or role is None:
            agency = agency or known or name
            continue
        if "person" in kind or is_person_name(proper_case(name)):
            people.append(Contributor(name=proper_case(name), role=role, kind="person"))
    return people, agency


def _signal(item_meta: etree._Element | None) -> Signal | None:
    if item_meta is None:
        return None
    status = _qcode(child(item_meta, "pubStatus")).split(":")[-1]
    if status in _STATUS_SIGNAL:
        return _STATUS_SIGNAL[status]
    found = [
        _SIGNAL_CODES[c] for c in map(_qcode, children(item_meta, "signal")) if c in _SIGNAL_CODES
    ]
    for strongest in ("kill", "correction", "update"):
        if strongest in found:
            return strongest
    return None


def _body(content_set: etree._Element | None) -> tuple[list[tuple[str, str]], Copy | None]:
    """Body blocks, and the NITF copy when the body is NITF (its byline and photos count too)."""
    if content_set is None:
        return [], None
    inline = child(content_set, "inlineXML")
    if inline is not None and len(inline):
        document = inline[0]
        if local(document.tag) == "nitf":
            embedded = nitf_copy(document, "newsml-g2")
            return embedded.blocks, embedded
        body = first(document, "body")
        return blocks_from_element(body if body is not None else document), None
    data = child(content_set, "inlineData")
    if data is not None:
        return [("p", p) for p in paragraphs(text_of(data))], None
    return [], None


def _item_copy(item: etree._Element) -> Copy:
    item_meta = child(item, "itemMeta")
    meta = child(item, "contentMeta")
    if meta is None:
        raise ParseError("a NewsML-G2 newsItem without contentMeta", format="newsml-g2")
    blocks, embedded = _body(child(item, "contentSet"))
    people, creator_agency = _people(meta)
    version = (item.get("version") or "").strip()
    summary = next(
        (
            clean_inline(text_of(d))
            for d in children(meta, "description")
            if "summary" in (d.get("role") or "").lower()
        ),
        None,
    )
    member = child(item_meta, "memberOf") if item_meta is not None else None
    corrections = [
        clean_inline(text_of(note))
        for note in (children(item_meta, "edNote") if item_meta is not None else [])
        if "correction" in (note.get("role") or "").lower()
    ]
    contacts = [
        clean_inline(text_of(note))
        for note in (children(item_meta, "edNote") if item_meta is not None else [])
        if "contact" in (note.get("role") or "").lower()
    ]
    language = child(meta, "language")
    provider = child(item_meta, "provider") if item_meta is not None else None
    located = child(meta, "located")
    return Copy(
        format="newsml-g2",
        headline=clean_inline(text_of(child(meta, "headline")))
        or (embedded.headline if embedded else ""),
        blocks=blocks,
        byline=clean_inline(text_of(child(meta, "by"))) or (embedded.byline if embedded else None),
        people=people,
        credit_lines=contacts,
        dateline=clean_inline(text_of(child(meta, "dateline"))) or None,
        place=_name(located) if located is not None else None,
        agency=(
            canonical_agency(clean_inline(text_of(child(meta, "creditline"))))
            or creator_agency
            or (embedded.agency if embedded else None)
        ),
        default_agency=canonical_agency(
            (provider.get("literal") or _qcode(provider).split(":")[-1])
            if provider is not None
            else ""
        ),
        section=_name(member) if member is not None else None,
        summary=summary or (embedded.summary if embedded else None),
        language=(language.get("tag") if language is not None else None)
        or item.get("{http://www.w3.org/XML/1998/namespace}lang"),
        guid=(item.get("guid") or "").strip() or None,
        provider=(_qcode(provider) or (provider.get("literal") or "").strip().lower())
        if provider is not None
        else None,
        source_version=version_number(version),
        published=parse_datetime(text_of(child(item_meta, "versionCreated"))),
        first_created=parse_datetime(text_of(child(item_meta, "firstCreated"))),
        signal=_signal(item_meta),
        correction=corrections[0] if corrections else None,
        photos=embedded.photos if embedded else [],
    )


def _is_text(item: etree._Element) -> bool:
    item_class = _qcode(first(item, "itemClass"))
    return not any(word in item_class for word in _NOT_TEXT)


def parse_newsml_g2(text: str, received: datetime | None = None) -> list[Draft]:
    root = parse_xml(text, fmt="newsml-g2")
    name = local(root.tag)
    if name == "newsMessage":
        items = descendants(root, "newsItem")
        others = sorted({local(el.tag) for el in descendants(root, "packageItem")})
    elif name == "newsItem":
        items, others = [root], []
    elif name in ("packageItem", "conceptItem", "knowledgeItem", "planningItem", "catalogItem"):
        raise ParseError(f"a NewsML-G2 {name} holds no story text", format="newsml-g2")
    else:
        raise ParseError(f"not NewsML-G2: the root element is <{name}>", format="newsml-g2")
    drafts = []
    for item in items:
        if not _is_text(item):
            continue
        copy = _item_copy(item)
        if not copy.headline:
            raise ParseError(f"NewsML-G2 item {copy.guid} has no headline", format="newsml-g2")
        drafts.append(normalise(copy, received))
    if not drafts:
        what = "packageItem" if others else "picture/video items"
        raise ParseError(
            f"the NewsML-G2 message holds no text item, only {what}", format="newsml-g2"
        )
    return drafts
