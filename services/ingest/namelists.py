"""Lists of names in credit lines: ``A, B in London and C in Rabat, Morocco`` → names with places.

A place closing a run of names belongs to each name of that run without a place of its own; a
region after a place (``Birmingham, Ala.``, ``Greenville, South Carolina``) stays part of it.
"""

from __future__ import annotations

import re

from services.ingest.agencies import canonical_agency
from services.ingest.personnames import is_person_name, proper_case, undouble
from shared.models import Contributor, Role

_SPLIT = re.compile(
    r"\s*(?:,\s*(?:and|&|und|y)\s+|\s+(?:and|&|und)\s+|\s*&\s*|,|;)\s*", re.IGNORECASE
)
_IN_PLACE = re.compile(r"^(?P<name>.+?)\s+(?:in|from|IN|FROM)\s+(?P<place>[A-ZÀ-Þ].*)$")
#: the same in an all-lower-case line (``jane doe in kyiv``), where the place has no capital
_IN_PLACE_LOWER = re.compile(r"^(?P<name>.+?)\s+(?:in|from)\s+(?P<place>[^\W\d_].*)$")
#: a newsroom, bureau or TV service: an organisation, not a person (``Gdansk Newsroom``,
#: ``Reuters TV``, ``Reuters bureaus``, ``Bengaluru newsroom``)
_NEWSROOM = re.compile(
    r"^(?:[^\W\d_][\w.'’&-]*\s+){0,3}(?:newsrooms?|bureaux|bureaus?|tv|television|desks?)$",
    re.IGNORECASE,
)
_ABBREVIATION = re.compile(r"^[A-Z][a-z]{1,4}\.$")
_NOISE = re.compile(
    r"\s*(?:\([^)]*\)|<[^>]*>|\[[^\]]*\]|\S+@\S+|\+?\d[\d\s/().-]{5,}\d)\s*",
)
_OUTLET_WORDS = re.compile(r"\b(?:agencies|inputs)\b", re.IGNORECASE)
_AT_EMAIL = re.compile(r"\s+at\s+\S+@\S+", re.IGNORECASE)

#: regions that follow a city after a comma; compared case-insensitively
REGIONS = frozenset(
    r.lower()
    for r in ["Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut", "Delaware", "Florida", "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa", "Kansas", "Kentucky", "Louisiana", "Maine", "Maryland", "Massachusetts", "Michigan", "Minnesota", "Mississippi", "Missouri", "Montana", "Nebraska", "Nevada", "Ohio", "Oklahoma", "Oregon", "Pennsylvania", "Tennessee", "Texas", "Utah", "Vermont", "Virginia", "Washington", "Wisconsin", "Wyoming", "Ontario", "Quebec", "Alberta", "Manitoba", "Saskatchewan", "Afghanistan", "Albania", "Algeria", "Argentina", "Armenia", "Australia", "Austria", "Azerbaijan", "Bahrain", "Bangladesh", "Belarus", "Belgium", "Bolivia", "Bosnia", "Brazil", "Bulgaria", "Cambodia", "Cameroon", "Canada", "Chile", "China", "Colombia", "Croatia", "Cuba", "Cyprus", "Denmark", "Ecuador", "Egypt", "England", "Estonia", "Ethiopia", "Finland", "France", "Germany", "Ghana", "Greece", "Guatemala", "Haiti", "Honduras", "Hungary", "Iceland", "India", "Indonesia", "Iran", "Iraq", "Ireland", "Israel", "Italy", "Japan", "Jordan", "Kazakhstan", "Kenya", "Kosovo", "Kuwait", "Latvia", "Lebanon", "Libya", "Lithuania", "Luxembourg", "Malaysia", "Mali", "Malta", "Mexico", "Moldova", "Mongolia", "Morocco", "Mozambique", "Myanmar", "Nepal", "Netherlands", "Nicaragua", "Niger", "Nigeria", "Norway", "Oman", "Pakistan", "Panama", "Paraguay", "Peru", "Philippines", "Poland", "Portugal", "Qatar", "Romania", "Russia", "Rwanda", "Scotland", "Senegal", "Serbia", "Singapore", "Slovakia", "Slovenia", "Somalia", "Spain", "Sudan", "Sweden", "Switzerland", "Syria", "Taiwan", "Tanzania", "Thailand", "Tunisia", "Turkey", "Uganda", "Ukraine", "Uruguay", "Uzbekistan", "Venezuela", "Vietnam", "Wales", "Yemen", "Zambia", "Zimbabwe", "Gaza"]
) | frozenset(
    {"new hampshire", "new jersey", "new mexico", "new york", "north carolina", "north dakota",
     "rhode island", "south carolina", "south dakota", "west virginia", "british columbia",
     "nova scotia", "new zealand", "south africa", "south korea", "north korea", "saudi arabia",
     "sri lanka", "united states", "united kingdom", "united arab emirates", "czech republic",
     "hong kong", "puerto rico", "ivory coast", "el salvador", "costa rica", "west bank",
     "d.c.", "u.s.", "u.k.", "uk", "us", "uae"}
)  # fmt: skip


#: AP state abbreviations, written with a final period ("Mobile, Ala.")
AP_STATES = frozenset(
    [
        "ala",
        "ariz",
        "ark",
        "calif",
        "colo",
        "conn",
        "del",
        "fla",
        "ga",
        "ill",
        "ind",
        "kan",
        "ky",
        "la",
        "md",
        "mass",
        "mich",
        "minn",
        "miss",
        "mo",
        "mont",
        "neb",
        "nev",
        "okla",
        "ore",
        "pa",
        "tenn",
        "vt",
        "va",
        "wash",
        "wis",
        "wyo",
    ]
)


def strip_noise(text: str) -> str:
    """Parentheticals, e-mail addresses, phone numbers and ``<…>`` out of a names list."""
    text = _AT_EMAIL.sub(", ", text)
    return _NOISE.sub(" ", text).strip(" ,;")


def _is_region(piece: str) -> bool:
    return (
        piece.lower() in REGIONS
        or piece.lower().rstrip(".") in AP_STATES
        or bool(_ABBREVIATION.match(piece))
    )


def split_names(text: str) -> list[tuple[str, str | None]]:
    """``A, B in London and C`` → ``[(A, London), (B, London), (C, None)]`` (names unchecked)."""
    raw_pieces = [piece.strip() for piece in _SPLIT.split(text) if piece and piece.strip(" .")]
    entries: list[list[str | None]] = []
    for raw in raw_pieces:
        piece = raw.strip(" .")
        if entries and entries[-1][1] and (_is_region(raw) or _is_region(piece)):
            region = f"{piece}." if piece.lower() in AP_STATES else piece
            entries[-1][1] = f"{entries[-1][1]}, {region}"
            continue
        match = _IN_PLACE.match(piece) or (
            _IN_PLACE_LOWER.match(piece) if piece == piece.lower() else None
        )
        name, place = (match["name"], match["place"]) if match else (piece, None)
        entries.append([undouble(name.strip()), proper_case(place.strip()) if place else None])
    resolved: list[tuple[str, str | None]] = []
    for index, (name, place) in enumerate(entries):
        if place is None:
            place = next((p for _, p in entries[index + 1 :] if p), None)
        resolved.append((str(name), place))
    return resolved


def organisation_name(text: str) -> str | None:
    """The name of a newsroom, bureau or TV service (``Reuters TV``), agency spelt its one way;
    ``None`` when ``text`` is not one."""
    text = re.sub(r"^the\s+", "", text, flags=re.IGNORECASE)
    if not _NEWSROOM.match(text):
        return None
    words = text.split()
    agency = canonical_agency(words[0])
    if agency:
        words[0] = agency
    elif text == text.lower() or text == text.upper():
        words = [proper_case(word) for word in words]
    if words[-1].lower() in ("tv", "television"):
        words[-1] = "TV" if words[-1].lower() == "tv" else "Television"
    return " ".join(words)


class NotNames(ValueError):
    """A names list holding something that is neither a person, an agency nor an outlet."""


def contributors_of(
    names_text: str, role: Role, *, drop_agencies: bool = False, lenient: bool = False
) -> list[Contributor]:
    """Contributors of one names list; ``NotNames`` when a piece is neither name nor outlet
    (``lenient``: such pieces, job titles in a byline, are skipped instead)."""
    people: list[Contributor] = []
    for name, place in split_names(strip_noise(names_text)):
        agency = canonical_agency(name) or organisation_name(name)
        if agency:
            if not drop_agencies:
                people.append(
                    Contributor(name=agency, role=role, kind="organization", location=place)
                )
        elif is_person_name(proper_case(name)):
            people.append(
                Contributor(name=proper_case(name), role=role, kind="person", location=place)
            )
        elif name.lower().startswith("the ") or _OUTLET_WORDS.search(name):
            continue  # an outlet the person writes for ("The San Diego Union-Tribune")
        elif not lenient:
            raise NotNames(name)
    return people
