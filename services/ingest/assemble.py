"""The one normalisation every format goes through: format-specific ``Copy`` → ``Draft``.

Each format module decodes its markup into a ``Copy`` (the fields it found, as it found them); this
module does everything that is the same for all formats, once:

    clean blocks → editorial notes out (correction kept) → byline out of the first paragraph
    → dateline out of the first paragraph → trailing credit lines and sign-offs out of the body
    → contributors by the precedence chain → agency by the precedence chain → Draft

Credits precedence (docs/attribution.md): the people of a structured byline field (NITF
``byline``, NewsML-G2 ``creator``/``contributor``, ninjs ``by``/``people``) else a "By …" line of
the copy; then everyone the credit lines name; then photographers of the story's own photos. The
agency: a structured agency field, then an organisation the credit line names, then the dateline's
agency, then the format's default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from services.ingest import attribution
from services.ingest.agencies import canonical_agency
from services.ingest.dateline import caption_date, parse_dateline
from services.ingest.draft import Draft, Signal
from services.ingest.headlines import split_headline_flags
from services.ingest.photos import photographers
from services.ingest.textclean import clean_inline, fold
from shared.models import BodyBlock, Contributor, Dateline, Photo

#: a whole first paragraph in parentheses: an editor's note, not story text
_NOTE = re.compile(r"^\((?P<note>[^()]{3,400})\)$")
_CORRECTION_NOTE = re.compile(r"\bcorrect(?:s|ed|ing|ion)\b", re.IGNORECASE)
_BYLINE = re.compile(r"^By\s+\S", re.IGNORECASE)
_RULE = re.compile(r"^[_\-=*#~. ]{3,}$")
_SHOUTED_SUBHEAD = re.compile(r"^[^a-z.!?;:]{3,60}$")


@dataclass
class Copy:
    """What a format found in one item, before normalisation (fields left empty when absent)."""

    format: str
    headline: str
    blocks: list[tuple[str, str]] = field(default_factory=list)
    byline: str | None = None
    people: list[Contributor] = field(default_factory=list)
    credit_lines: list[str] = field(default_factory=list)
    dateline: str | None = None
    place: str | None = None
    agency: str | None = None
    default_agency: str | None = None
    publisher: str | None = None
    section: str | None = None
    summary: str | None = None
    language: str | None = None
    guid: str | None = None
    source_version: int | None = None
    published: datetime | None = None
    signal: Signal | None = None
    correction: str | None = None
    photos: list[Photo] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    #: the text parser has already found where the story ends; no trailer scan needed
    credits_found: list[attribution.Attribution] = field(default_factory=list)


def _reference_date(copy: Copy, received: datetime | None) -> date | None:
    for photo in copy.photos:
        if dated := caption_date(photo.caption):
            return dated
    if copy.published:
        return copy.published.date()
    return received.date() if received else None


def _clean_blocks(copy: Copy, headline: str) -> list[tuple[str, str]]:
    key = fold(headline)
    out: list[tuple[str, str]] = []
    for kind, text in copy.blocks:
        text = clean_inline(text)
        if not text or _RULE.match(text):
            continue
        if not out and fold(text) == key:
            continue  # the headline repeated as the first line
        if kind == "p" and _is_shouted_subhead(text):
            kind = "h2"
        out.append((kind, text))
    return out


def _is_shouted_subhead(text: str) -> bool:
    """Reuters and AP mark subheads as a short paragraph in capitals (``STILL STANDING``)."""
    words = text.split()
    return (
        1 <= len(words) <= 8
        and bool(_SHOUTED_SUBHEAD.match(text))
        and any(ch.isalpha() for ch in text)
        and not attribution.is_signoff(text)
    )


def _take_notes(blocks: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], str | None]:
    """Leading ``(…)`` editor's notes leave the body; a correction note is returned."""
    correction: str | None = None
    while blocks and blocks[0][0] == "p" and (match := _NOTE.match(blocks[0][1])):
        note = match["note"].strip()
        if attribution.looks_like_credit(note):
            break
        if _CORRECTION_NOTE.search(note) and correction is None:
            correction = note
        blocks = blocks[1:]
    return blocks, correction


def _take_byline(blocks: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], str | None]:
    if blocks and _BYLINE.match(blocks[0][1]) and len(blocks[0][1].split()) <= 12:
        return blocks[1:], blocks[0][1]
    return blocks, None


def _take_trailer(
    blocks: list[tuple[str, str]],
) -> tuple[list[tuple[str, str]], list[str]]:
    """Credit lines, sign-offs and rules at the end of the body leave it; credits are returned."""
    credits: list[str] = []
    while blocks:
        kind, text = blocks[-1]
        if attribution.is_signoff(text) or _RULE.match(text):
            blocks = blocks[:-1]
        elif kind == "p" and attribution.is_credit_trailer(text):
            credits.insert(0, text)
            blocks = blocks[:-1]
        else:
            break
    return blocks, credits


def _dedupe(people: list[Contributor]) -> list[Contributor]:
    seen: set[tuple[str, str]] = set()
    out: list[Contributor] = []
    for person in people:
        key = (fold(person.name), person.role)
        if key not in seen:
            seen.add(key)
            out.append(person)
    return out


def normalise(copy: Copy, received: datetime | None = None) -> Draft:
    """Turn what a format found into a draft story (see the module docstring for the steps)."""
    headline, flag_signal = split_headline_flags(clean_inline(copy.headline))
    blocks = _clean_blocks(copy, headline)
    blocks, note = _take_notes(blocks)
    blocks, text_byline = _take_byline(blocks)
    reference = _reference_date(copy, received)

    dateline: Dateline | None = None
    parsed = parse_dateline(clean_inline(copy.dateline) + " x", reference) if copy.dateline else None
    if blocks and blocks[0][0] == "p":
        in_text = parse_dateline(blocks[0][1], reference)
        if in_text is not None:
            blocks[0] = ("p", in_text.rest)
            parsed = parsed or in_text
    if parsed is not None:
        dateline = Dateline(
            place=parsed.place or copy.place,
            date=parsed.date.isoformat() if parsed.date else None,
            agency=parsed.agency,
        )
    elif copy.place:
        dateline = Dateline(place=copy.place)

    results = list(copy.credits_found)
    if not copy.credits_found:
        blocks, trailer = _take_trailer(blocks)
        results.extend(attribution.parse_credit_line(line) for line in trailer)
    results.extend(attribution.parse_credit_line(line) for line in copy.credit_lines)

    byline_people = copy.people or attribution.parse_byline(copy.byline or text_byline or "")
    credited = [person for result in results for person in result.contributors]
    photo_people = [
        person for photo in copy.photos for person in photographers(photo.credit, own_only=True)
    ]
    contributors = _dedupe([*byline_people, *credited, *photo_people])
    credit_line, parsed_ok = attribution.combine(byline_people, results)

    agency = (
        canonical_agency(copy.agency or "")
        or next((c.name for c in credited if c.kind == "organization"), None)
        or (dateline.agency if dateline else None)
        or copy.default_agency
    )
    body = [BodyBlock(type="h2" if kind == "h2" else "p", text=text) for kind, text in blocks]
    summary = clean_inline(copy.summary or "") or next(
        (block.text for block in body if block.type == "p"), None
    )
    correction = copy.correction or note
    signal = copy.signal or flag_signal
    if correction and signal is None:
        signal = "correction"
    return Draft(
        format=copy.format,
        headline=headline,
        section=clean_inline(copy.section or "") or None,
        summary=summary,
        language=copy.language,
        dateline=dateline,
        body=body,
        photos=copy.photos,
        contributors=contributors,
        credit_line=credit_line,
        credit_line_parsed=parsed_ok,
        agency=agency,
        publisher=clean_inline(copy.publisher or "") or None,
        guid=copy.guid,
        published=copy.published,
        signal=signal,
        correction=correction,
        source_version=copy.source_version,
        links=copy.links,
    )
