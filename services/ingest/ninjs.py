"""IPTC ninjs (News in JSON), 1.x and 2.x, and the ninjs-shaped items of AP's Media API.

One JSON object is one story; a JSON array, or an AP Media API envelope (``data.item`` or
``data.items[].item``), holds several. What maps where (docs/formats.md):
``altids.itemid`` (AP), else ``guid`` (Superdesk), else ``uri`` → guid; ``version`` → source version;
``headline`` (1.x) / ``headlines[role=main]`` (2.x) → headline; ``body_xhtml``/``body_html``/
``body_text`` (1.x) / ``bodies`` (2.x) → body; ``description_text`` / ``descriptions`` → summary;
``by``/``byline`` → byline; ``people``/``person``/``authors`` whose ``rel``/``role`` says they made the
story (author, writer, editor, photographer…) → contributors with that role; ``located`` → place;
``pubstatus`` ``canceled`` → kill, ``withheld`` → withhold; ``signals``, ``correction``,
``ednote`` (``Correction: …``) → correction; ``associations`` pictures → photos;
``versioncreated``/``firstcreated`` → dates; ``copyrightholder``/``provider``/``source`` → agency.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.ingest.agencies import canonical_agency
from services.ingest.assemble import Copy, normalise
from services.ingest.body import blocks_from_html
from services.ingest.dates import parse_datetime
from services.ingest.draft import Draft, Signal
from services.ingest.numbers import version_number
from services.ingest.personnames import proper_case
from services.ingest.textclean import clean_inline, paragraphs
from services.ingest.xmlsafe import parse_json
from shared.errors import ParseError
from shared.models import Contributor, Photo, Role

_STATUS: dict[str, Signal] = {"canceled": "kill", "cancelled": "kill", "withheld": "withhold"}
_MAKERS: tuple[tuple[str, Role], ...] = (
    ("editor", "editing"),
    ("photo", "photography"),
    ("video", "video"),
    ("camera", "video"),
    ("graphic", "graphics"),
    ("translat", "translation"),
    ("research", "research"),
    ("writer", "writing"),
    ("author", "reporting"),
    ("creator", "reporting"),
    ("reporter", "reporting"),
    ("correspondent", "reporting"),
    ("byline", "reporting"),
    ("contributor", "contributing"),
)


def _str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return _str(value.get("value") or value.get("name") or value.get("text") or "")
    if isinstance(value, list) and value:
        return _str(value[0])
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else ""


def _role_of(entry: dict[str, Any]) -> Role | None:
    words = " ".join(
        _str(v) if not isinstance(v, list) else " ".join(map(_str, v))
        for v in (entry.get("rel"), entry.get("rels"), entry.get("role"), entry.get("roles"))
        if v
    ).lower()
    return next((role for word, role in _MAKERS if word in words), None)


def _people(item: dict[str, Any]) -> list[Contributor]:
    """People who made the story (not those it is about: ``rel: subject``/``direct`` is skipped)."""
    found: list[Contributor] = []
    for key in ("authors", "people", "person"):
        entries = item.get(key)
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            role = _role_of(entry)
            name = clean_inline(_str(entry.get("name")))
            if role and name:
                found.append(Contributor(name=proper_case(name), role=role, kind="person"))
    return found


def _text_by_role(values: Any, prefer: tuple[str, ...]) -> str:
    """ninjs 2.x ``headlines``/``descriptions``: the value whose role comes first in ``prefer``."""
    if not isinstance(values, list):
        return _str(values)
    entries = [v for v in values if isinstance(v, dict)]
    for role in prefer:
        for entry in entries:
            if (entry.get("role") or "") == role:
                return _str(entry.get("value"))
    return _str(entries[0].get("value")) if entries else ""


def _blocks(item: dict[str, Any]) -> list[tuple[str, str]]:
    for key in ("body_xhtml", "body_html"):
        if isinstance(item.get(key), str) and item[key].strip():
            return blocks_from_html(item[key])
    bodies = item.get("bodies")
    if isinstance(bodies, list):
        entries = [b for b in bodies if isinstance(b, dict) and isinstance(b.get("value"), str)]
        for entry in entries:
            if "html" in _str(entry.get("contenttype")):
                return blocks_from_html(entry["value"])
        if entries:
            return [("p", p) for p in paragraphs(entries[0]["value"])]
    text = item.get("body_text")
    if isinstance(text, str):
        return [("p", p) for p in paragraphs(text)]
    return []


def _photos(item: dict[str, Any]) -> list[Photo]:
    associations = item.get("associations")
    if isinstance(associations, dict):
        entries = list(associations.values())
    elif isinstance(associations, list):
        entries = associations
    else:
        return []
    photos: list[Photo] = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("type") not in ("picture", "image", "graphic"):
            continue
        caption = clean_inline(
            _str(entry.get("description_text"))
            or _text_by_role(entry.get("descriptions"), ("caption", "summary"))
            or _str(entry.get("headline"))
        )
        credit = clean_inline(
            _str(entry.get("byline")) or _str(entry.get("by")) or _str(entry.get("creditline"))
        )
        renditions = entry.get("renditions")
        first = (
            next(iter(renditions.values()), {})
            if isinstance(renditions, dict)
            else (renditions[0] if isinstance(renditions, list) and renditions else {})
        )
        url = _str(entry.get("uri")) or (_str(first.get("href")) if isinstance(first, dict) else "")
        photos.append(Photo(url=url or None, caption=caption, credit=credit))
    return photos


def _signal(item: dict[str, Any]) -> tuple[Signal | None, str | None]:
    status = _str(item.get("pubstatus")).lower()
    correction = clean_inline(_str(item.get("correction")) or _str(item.get("correctionnote")))
    note = clean_inline(_str(item.get("ednote")))
    if not correction and note.lower().startswith(("correction", "corrects", "corrected")):
        correction = note
    descriptions = item.get("descriptions")
    if not correction and isinstance(descriptions, list):
        correction = clean_inline(
            _text_by_role(descriptions, ("correction",))
            if any(isinstance(d, dict) and d.get("role") == "correction" for d in descriptions)
            else ""
        )
    if status in _STATUS:
        return _STATUS[status], correction or None
    signals = (
        " ".join(_str(s) for s in item.get("signals") or [] if s)
        if isinstance(item.get("signals"), list)
        else ""
    )
    signals = (signals + " " + _str(item.get("signal"))).lower()
    if correction or "correction" in signals:
        return "correction", correction or None
    if "update" in signals:
        return "update", None
    return None, None


def _copy(item: dict[str, Any]) -> Copy:
    altids: dict[str, Any] = item["altids"] if isinstance(item.get("altids"), dict) else {}
    guid = _str(altids.get("itemid")) or _str(item.get("guid")) or _str(item.get("uri"))
    version = _str(item.get("version"))
    signal, correction = _signal(item)
    holder = (
        _str(item.get("copyrightholder")) or _str(item.get("provider")) or _str(item.get("source"))
    )
    return Copy(
        format="ninjs",
        headline=_str(item.get("headline")) or _text_by_role(item.get("headlines"), ("main", "")),
        blocks=_blocks(item),
        byline=clean_inline(_str(item.get("byline")) or _str(item.get("by"))) or None,
        people=_people(item),
        place=clean_inline(_str(item.get("located"))) or None,
        agency=canonical_agency(holder) or None,
        default_agency=holder or None,
        section=_str((item.get("service") or [{}])[0])
        if isinstance(item.get("service"), list)
        else None,
        summary=clean_inline(
            _str(item.get("description_text"))
            or _text_by_role(item.get("descriptions"), ("summary", ""))
        )
        or None,
        language=_str(item.get("language")) or None,
        guid=guid or None,
        source_version=version_number(version),
        published=parse_datetime(_str(item.get("versioncreated"))),
        first_created=parse_datetime(_str(item.get("firstcreated"))),
        signal=signal,
        correction=correction,
        photos=_photos(item),
    )


def items_of(document: Any) -> list[dict[str, Any]]:
    """The ninjs items of a document: one object, an array, or an AP Media API envelope."""
    if isinstance(document, list):
        return [item for entry in document for item in items_of(entry)]
    if not isinstance(document, dict):
        return []
    data = document.get("data")
    if isinstance(data, dict):
        if isinstance(data.get("item"), dict):
            return [data["item"]]
        if isinstance(data.get("items"), list):
            return [
                e["item"]
                for e in data["items"]
                if isinstance(e, dict) and isinstance(e.get("item"), dict)
            ]
    return [document]


def looks_like_ninjs(document: Any) -> bool:
    items = items_of(document)
    return bool(items) and all(
        ("uri" in item or "guid" in item)
        and any(k in item for k in ("headline", "headlines", "body_text", "bodies", "type"))
        for item in items
    )


def parse_ninjs(text: str, received: datetime | None = None) -> list[Draft]:
    document = parse_json(text, fmt="ninjs")
    if not looks_like_ninjs(document):
        raise ParseError(
            "JSON that is not ninjs (no uri/guid with a headline or body)", format="ninjs"
        )
    drafts = []
    for item in items_of(document):
        copy = _copy(item)
        if not clean_inline(copy.headline):
            raise ParseError(f"ninjs item {copy.guid} has no headline", format="ninjs")
        drafts.append(normalise(copy, received))
    return drafts
