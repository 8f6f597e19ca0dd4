"""Datelines: ``MOSCOW, Feb 2 (Reuters) —`` becomes place, date and agency, and leaves the text.

Forms covered: ``PLACE, Mon D (Agency) —``, ``PLACE (Agency) —``, ``PLACE, D Month YYYY (Agency) -``,
``PLACE, Mon. D, YYYY (Agency) --``, ``PLACE, Region (Agency) —`` and the agency-less
``WASHINGTON —``. A date without a year takes the year that puts it nearest the reference date
(the item's own date, or a dated caption).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from services.ingest.agencies import canonical_agency

MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9,
    "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12,
    "december": 12,
}  # fmt: skip
_MONTH = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
_DATE_MDY = re.compile(
    rf"^(?P<mon>{_MONTH})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<year>\d{{4}}))?$",
    re.IGNORECASE,
)
_DATE_DMY = re.compile(
    rf"^(?P<day>\d{{1,2}})\.?\s+(?P<mon>{_MONTH})\.?(?:,?\s+(?P<year>\d{{4}}))?$", re.IGNORECASE
)
_DASH = r"(?:—|–|\.?-{1,2}|‒|―|:|_)"
_WITH_AGENCY = re.compile(
    rf"^(?P<head>[^()\n]{{0,80}}?)\s*\((?P<agency>[A-Za-z][A-Za-z .&'’/-]{{0,40}})\)\s*{_DASH}\s*",
)
_NO_AGENCY = re.compile(
    r"^(?P<head>[A-ZÀ-ÖØ-Þ][A-ZÀ-ÖØ-Þ .'’-]{1,40}(?:,\s*[A-Z][A-Za-z.'’ -]{1,30})?)\s+(?:—|–|--)\s+"
)
_YEAR = re.compile(r"(?:19|20)\d\d")
_CAPTION_DATE = re.compile(
    rf"\b(?P<mon>{_MONTH})\.?\s+(?P<day>\d{{1,2}}),?\s+(?P<year>(?:19|20)\d\d)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class ParsedDateline:
    place: str | None
    date: date | None
    agency: str | None
    rest: str


def _month(name: str) -> int:
    return MONTHS[name.lower().rstrip(".")]


def infer_year(month: int, day: int, reference: date | None) -> date | None:
    """The date ``month/day`` in the year that puts it nearest ``reference``."""
    if reference is None:
        return None
    candidates = []
    for year in (reference.year - 1, reference.year, reference.year + 1):
        try:
            candidates.append(date(year, month, day))
        except ValueError:
            continue
    return min(candidates, key=lambda d: abs((d - reference).days), default=None)


def parse_date(text: str, reference: date | None) -> date | bool | None:
    """A dateline date; ``False`` when ``text`` is not a date at all."""
    text = text.strip().rstrip(",")
    match = _DATE_MDY.match(text) or _DATE_DMY.match(text)
    if not match:
        return False
    month, day = _month(match["mon"]), int(match["day"])
    if match["year"]:
        try:
            return date(int(match["year"]), month, day)
        except ValueError:
            return False
    return infer_year(month, day, reference)


@lru_cache(maxsize=1024)
def caption_date(text: str) -> date | None:
    """The first full date written in a caption (``February 2, 2026``), if any."""
    if not _YEAR.search(text):
        return None  # the cheap test: no year, no full date
    match = _CAPTION_DATE.search(text)
    if not match:
        return None
    try:
        return date(int(match["year"]), _month(match["mon"]), int(match["day"]))
    except ValueError:
        return None


_PLACE_PARTICLES = frozenset({"de", "del", "la", "le", "of", "am", "an", "der", "on", "al", "el", "da", "do", "dos", "du", "sur", "upon"})  # fmt: skip


def _looks_like_place(text: str) -> bool:
    """A place is a few capitalised words (particles aside), not a sentence."""
    words = text.replace(",", " ").split()
    if not 0 < len(words) <= 6 or text.endswith(("!", "?")):
        return False
    return all(word[:1].isupper() or word in _PLACE_PARTICLES for word in words)


@lru_cache(maxsize=2048)
def parse_dateline(paragraph: str, reference: date | None = None) -> ParsedDateline | None:
    """Split a leading dateline off ``paragraph``; ``None`` when it does not start with one."""
    head = paragraph[:130]
    if "(" not in head and not any(dash in head for dash in ("—", "–", "--")):
        return None  # neither an agency in parentheses nor a dash near the start
    match = _WITH_AGENCY.match(paragraph)
    agency: str | None = None
    if match:
        raw_agency = match["agency"].strip()
        known = [canonical_agency(part) for part in raw_agency.split("/")]
        agency = canonical_agency(raw_agency) or next((k for k in known if k), None) or raw_agency
        head = match["head"].strip().rstrip(",")
    else:
        match = _NO_AGENCY.match(paragraph)
        if not match:
            return None
        head = match["head"].strip()
    parts = [part.strip() for part in head.split(",")]
    when: date | None = None
    # the date is the last one or two comma-separated parts ("Feb 2" or "Feb. 2, 2026")
    for take in (2, 1):
        if len(parts) > take or (len(parts) == take and agency):
            parsed = parse_date(", ".join(parts[-take:]), reference)
            if parsed is not False:
                when = parsed if isinstance(parsed, date) else None
                parts = parts[:-take]
                break
    place = ", ".join(parts).strip()
    if place and not _looks_like_place(place):
        return None
    if not place and not agency:
        return None
    rest = paragraph[match.end() :].strip()
    if not rest:
        return None
    return ParsedDateline(place=place or None, date=when, agency=agency, rest=rest)
