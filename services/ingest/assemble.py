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
from services.ingest.agencies import canonical_agency, mentions_agency
from services.ingest.dateline import caption_date, parse_dateline
from services.ingest.draft import Draft, Signal
from services.ingest.headlines import split_headline_flags, update_number
from services.ingest.markup import sanitise
from services.ingest.photos import photographers
from services.ingest.textclean import clean_inline, fold
from shared.models import BodyBlock, Contributor, Dateline, Photo

#: a whole first paragraph in parentheses: an editor's note, not story text
NOTE = re.compile(r"^\((?P<note>[^()]{3,400})\)$")
_CORRECTION_NOTE = re.compile(r"\bcorrect(?:s|ed|ing|ion)\b", re.IGNORECASE)
_BYLINE = re.compile(r"^By\s+\S", re.IGNORECASE)
_RULE = re.compile(r"^[_\-=*#~. ]{3,}$")
_BULLET = re.compile(r"^[*•·]\s+")
_CLOSING_CORRECTION = re.compile(
    r"^This (?:version|story|article) (?:corrects|has been corrected)\b", re.IGNORECASE
)
GLUED_DATELINE = re.compile(
    r"(?<![\w(])[A-Z][A-Z.'’ -]{2,40}(?:,\s+[A-Z][\w.'’ -]{1,30})?(?:,\s+[A-Z][a-z]{2,8}\.?\s+\d{1,2})?\s+"
    r"\((?:AP|Reuters|AFP|UPI|Yonhap|dpa|Bloomberg|Xinhua|EFE|ANSA|Kyodo)\)\s*(?:—|–|--|-|_)\s"
)
_PLACE_ONLY = re.compile(r"^[A-ZÀ-Þ][^\d()]{1,60}$")
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
    #: a structured provider field scoping the guid (docs/formats.md, "Identity")
    provider: str | None = None
    source_version: int | None = None
    published: datetime | None = None
    first_created: datetime | None = None
    signal: Signal | None = None
    correction: str | None = None
    photos: list[Photo] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    #: page copy (HTML, republished text): the story ends at its credit line, and its start is
    #: searched further down and inside paragraphs
    page: bool = False


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


@dataclass
class _Front:
    """What the first blocks of a story held besides its text."""

    blocks: list[tuple[str, str]]
    correction: str | None = None
    byline: str | None = None
    highlights: list[str] = field(default_factory=list)


def _embedded_dateline(text: str) -> int | None:
    """Where a dateline starts inside a paragraph glued to page chrome or a byline."""
    match = GLUED_DATELINE.search(text)
    return match.start() if match and match.start() > 0 else None


def _front(blocks: list[tuple[str, str]], scan: bool, reference: date | None) -> _Front:
    """Editor's notes, the byline and highlights out of the head of the story.

    The story starts at its dateline. Blocks before it are kept only when there is no dateline
    nearby; when there is, notes, a byline and bullet highlights are read and the rest (page
    chrome for HTML) is dropped. ``scan``: look further and inside paragraphs (HTML, text).
    """
    limit = 14 if scan else 6
    found: int | None = None
    for index, (kind, text) in enumerate(blocks[:limit]):
        if kind != "p":
            continue
        if parse_dateline(text, reference):
            found = index
            break
        if (scan or index == 0 or _BYLINE.match(text)) and (
            cut := _embedded_dateline(text)
        ) is not None:
            before, tail = text[:cut].strip(), text[cut:]
            blocks = [
                *blocks[:index],
                *([("p", before)] if before else []),
                ("p", tail),
                *blocks[index + 1 :],
            ]
            found = index + (1 if before else 0)
            break
    front = _Front(blocks)
    head = blocks[:found] if found is not None else []
    if found is not None and not scan and not all(_front_like(text) for _, text in head):
        head, found = [], None
    if found is None:
        # no dateline: only leading notes and a byline leave the body
        index = 0
        while (
            index < len(blocks)
            and blocks[index][0] == "p"
            and (
                NOTE.match(blocks[index][1])
                or (is_byline(blocks[index][1]) and front.byline is None)
            )
        ):
            index += 1
        head, found = blocks[:index], index
    for _, text in head:
        if (note := NOTE.match(text)) and not attribution.looks_like_credit(note["note"]):
            if _CORRECTION_NOTE.search(note["note"]) and front.correction is None:
                front.correction = note["note"].strip()
        elif is_byline(text) and front.byline is None:
            front.byline = text
        elif _BULLET.match(text):
            front.highlights.append(_BULLET.sub("", text))
    front.blocks = blocks[found:]
    return front


def _front_like(text: str) -> bool:
    return (
        bool(NOTE.match(text) or is_byline(text) or _BULLET.match(text)) or len(text.split()) <= 12
    )


def is_byline(text: str) -> bool:
    return bool(_BYLINE.match(text)) and len(text.split()) <= 12


def cut_at_credit(blocks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A page goes on after the story's credit line (share buttons, more stories): cut there."""
    for index, (kind, text) in enumerate(blocks):
        if index >= 2 and kind == "p" and attribution.is_credit_trailer(text):
            end = index + 1
            while end < len(blocks) and (
                attribution.is_credit_trailer(blocks[end][1])
                or attribution.is_signoff(blocks[end][1])
            ):
                end += 1
            return blocks[:end]
    return blocks


def _take_trailer(
    blocks: list[tuple[str, str]],
) -> tuple[list[tuple[str, str]], list[str], str | None]:
    """Credit lines, sign-offs, rules and a closing correction note leave the end of the body."""
    credits: list[str] = []
    correction: str | None = None
    while blocks:
        kind, text = blocks[-1]
        if attribution.is_signoff(text) or _RULE.match(text):
            blocks = blocks[:-1]
        elif kind == "p" and attribution.is_credit_trailer(text):
            credits.insert(0, text)
            blocks = blocks[:-1]
        elif kind == "p" and _CLOSING_CORRECTION.match(text) and correction is None:
            correction = text
            blocks = blocks[:-1]
        else:
            break
    return blocks, credits, correction


def _dedupe(people: list[Contributor]) -> list[Contributor]:
    """Each person once per role, with the place any mention gives; a surname alone (``Gillum
    reported from …``) is the byline's full name when one byline person carries it."""
    full_names = [p.name for p in people if len(p.name.split()) > 1]
    kept: dict[tuple[str, str], Contributor] = {}
    for person in people:
        if person.kind == "person" and len(person.name.split()) == 1:
            owners = {n for n in full_names if n.split()[-1] == person.name}
            if len(owners) == 1:
                person = person.model_copy(update={"name": owners.pop()})
        key = (fold(person.name), person.role)
        if key not in kept:
            kept[key] = person
        elif kept[key].location is None and person.location:
            kept[key] = kept[key].model_copy(update={"location": person.location})
    return list(kept.values())


def _dateline(copy: Copy, blocks: list[tuple[str, str]], reference: date | None) -> Dateline | None:
    """The dateline opening the first paragraph, completed by the format's dateline field."""
    in_text = parse_dateline(blocks[0][1], reference) if blocks and blocks[0][0] == "p" else None
    field_text = clean_inline(copy.dateline or "")
    structured = parse_dateline(field_text + " x", reference) if field_text else None
    place_only = field_text if field_text and _PLACE_ONLY.match(field_text) else None
    place = (
        (in_text.place if in_text else None)
        or (structured.place if structured else None)
        or place_only
        or copy.place
    )
    when = (in_text.date if in_text else None) or (structured.date if structured else None)
    agency = (in_text.agency if in_text else None) or (structured.agency if structured else None)
    if not (place or when or agency):
        return None
    return Dateline(place=place, date=when.isoformat() if when else None, agency=agency)


def normalise(copy: Copy, received: datetime | None = None) -> Draft:
    """Turn what a format found into a draft story (see the module docstring for the steps)."""
    headline, flag_signal = split_headline_flags(clean_inline(copy.headline))
    blocks = _clean_blocks(copy, headline)
    reference = _reference_date(copy, received)
    front = _front(blocks, copy.page, reference)
    blocks = front.blocks

    dateline = _dateline(copy, blocks, reference)
    if blocks and blocks[0][0] == "p" and (in_text := parse_dateline(blocks[0][1], reference)):
        blocks[0] = ("p", in_text.rest)

    results: list[attribution.Attribution] = []
    closing_correction: str | None = None
    trailer: list[str] = []
    if copy.page:
        blocks = cut_at_credit(blocks)
    blocks, trailer, closing_correction = _take_trailer(blocks)
    results.extend(attribution.parse_credit_line(line) for line in trailer)
    results.extend(attribution.parse_credit_line(line) for line in copy.credit_lines)

    authors = [p for p in copy.people if p.role in ("reporting", "writing")]
    byline_people = (
        copy.people
        if authors
        else [*attribution.parse_byline(copy.byline or front.byline or ""), *copy.people]
    )
    credited = [person for result in results for person in result.contributors]
    photos = copy.photos
    story_agency = canonical_agency(copy.agency or "") or (dateline.agency if dateline else None)
    if copy.page and story_agency:
        # a page shows other stories' photos too: keep those credited to the story's agency
        photos = [p for p in photos if mentions_agency(p.credit, story_agency)]
    photo_people = [
        person for photo in photos for person in photographers(photo.credit, own_only=True)
    ]
    contributors = _dedupe([*byline_people, *credited, *photo_people])
    credit_line, parsed_ok = attribution.combine(contributors, results)

    agency = (
        canonical_agency(copy.agency or "")
        or next((c.name for c in credited if c.kind == "organization"), None)
        or next(filter(None, map(attribution.agency_named, [*trailer, *copy.credit_lines])), None)
        or (dateline.agency if dateline else None)
        or copy.default_agency
    )
    body = [BodyBlock(type="h2" if kind == "h2" else "p", text=text) for kind, text in blocks]
    summary = (
        clean_inline(copy.summary or "")
        or " ".join(front.highlights)
        or next((block.text for block in body if block.type == "p"), None)
    )
    correction = copy.correction or front.correction or closing_correction
    signal = copy.signal or flag_signal
    if correction and signal is None:
        signal = "correction"
    return sanitise(
        Draft(
            format=copy.format,
            headline=headline,
            section=clean_inline(copy.section or "") or None,
            summary=summary,
            language=copy.language,
            dateline=dateline,
            body=body,
            photos=photos,
            contributors=contributors,
            credit_line=credit_line,
            credit_line_parsed=parsed_ok,
            agency=agency,
            publisher=clean_inline(copy.publisher or "") or None,
            guid=copy.guid,
            provider=clean_inline(copy.provider or "") or None,
            published=copy.published,
            first_created=copy.first_created,
            signal=signal,
            correction=correction,
            source_version=copy.source_version
            if copy.source_version is not None
            else update_number(clean_inline(copy.headline)),
            links=copy.links,
        )
    )
