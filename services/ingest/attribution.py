"""Credit lines become contributors with roles, and one canonical ``credit_line``.

``(Reporting by A in Kyiv and B; Writing by C; Editing by D and E)`` becomes
``[A reporting Kyiv, B reporting, C writing, D editing, E editing]`` and
``Reporting by A in Kyiv and B; Writing by C; Editing by D and E``.

Reading rules (the same for every format; see docs/attribution.md):
- role groups keep the order in which they first appear; within a group, names keep their order;
- a place that closes a run of names (``X, Y and Z in Washington``) belongs to each name of the run
  that has no place of its own;
- a known agency or outlet named in a role is ``kind: organization``, spelt one way;
- names that arrive in all capitals or all lower case get their proper case; others are kept as
  written, diacritics and particles included;
- a line that looks like credits but does not parse is kept verbatim, with no invented contributors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from services.ingest.agencies import canonical_agency
from services.ingest.textclean import clean_inline
from shared.models import ROLES, Contributor, Role

#: role phrase (as a regex) -> role; the longest phrases first so "additional reporting" wins
_ROLE_PHRASES: tuple[tuple[str, Role], ...] = (
    (r"additional\s+reporting", "additional_reporting"),
    (r"with\s+(?:additional\s+)?reporting", "reporting"),
    (r"reporting", "reporting"),
    (r"reported", "reporting"),
    (r"writing", "writing"),
    (r"written", "writing"),
    (r"editing", "editing"),
    (r"edited", "editing"),
    (r"compiled", "compiling"),
    (r"compiling", "compiling"),
    (r"research(?:ed)?", "research"),
    (r"graphics?", "graphics"),
    (r"video", "video"),
    (r"photo(?:graph)?s|photography|photographed", "photography"),
    (r"translat(?:ed|ion)", "translation"),
)
_ROLE_RE = re.compile(
    r"(?<![\w-])(?P<phrase>" + "|".join(f"(?:{p})" for p, _ in _ROLE_PHRASES) + r")\s+by\b\s*:?\s*",
    re.IGNORECASE,
)

#: how each role is written in a canonical credit line
ROLE_LABELS: dict[Role, str] = {
    "reporting": "Reporting by",
    "additional_reporting": "Additional reporting by",
    "writing": "Writing by",
    "editing": "Editing by",
    "compiling": "Compiled by",
    "contributing": "Contributions by",
    "photography": "Photography by",
    "video": "Video by",
    "graphics": "Graphics by",
    "research": "Research by",
    "translation": "Translation by",
}
assert set(ROLE_LABELS) == set(ROLES)

_PARTICLES = frozenset(
    {"al", "el", "bin", "bint", "ibn", "abu", "de", "del", "della", "der", "den", "di", "da",
     "do", "dos", "du", "la", "le", "van", "von", "ter", "ten", "y", "e", "zu"}
)  # fmt: skip
_NAME_SPLIT = re.compile(r"\s*(?:,\s*(?:and|&)\s+|\s+and\s+|\s*&\s*|,|;)\s*", re.IGNORECASE)
_IN_PLACE = re.compile(r"^(?P<name>.+?)\s+(?i:in|from)\s+(?P<place>[A-ZÀ-Þ].*)$")
_FRAME = re.compile(r"^[\s(\[\-–—•*]+|[\s)\].]+$")
_NAME_OK = re.compile(r"^[\w'’.\-]+(?:\s+[\w'’.\-]+){0,5}$")


@dataclass(frozen=True)
class Attribution:
    """The result of reading one credit line."""

    contributors: tuple[Contributor, ...]
    credit_line: str | None
    parsed: bool


def role_of(phrase: str) -> Role:
    phrase = " ".join(phrase.lower().split())
    for pattern, role in _ROLE_PHRASES:
        if re.fullmatch(pattern, phrase):
            return role
    raise ValueError(phrase)


def looks_like_credit(text: str) -> bool:
    """Does ``text`` start like a credit line (``(Reporting by …``, ``Editing by …``)?"""
    stripped = text.strip().lstrip("([-–—•* ").strip()
    match = _ROLE_RE.search(stripped)
    return bool(match and match.start() == 0)


def proper_case(name: str) -> str:
    """``JOHN SMITH`` → ``John Smith``, ``nidal al-mughrabi`` → ``Nidal al-Mughrabi``.

    Mixed-case names are the writer's choice and stay as written.
    """
    letters = [ch for ch in name if ch.isalpha()]
    if not letters or not (all(c.isupper() for c in letters) or all(c.islower() for c in letters)):
        return name

    def word_case(word: str, first: bool) -> str:
        parts = re.split(r"([-'’])", word)
        out = []
        for i, part in enumerate(parts):
            low = part.lower()
            if part in "-'’":
                out.append(part)
            elif (
                low in _PARTICLES and not (first and i == 0) and (i + 1 < len(parts) or i > 0)
            ) or (low in _PARTICLES and not first and i == 0):
                out.append(low)
            else:
                out.append(low[:1].upper() + low[1:])
        return "".join(out)

    return " ".join(word_case(word, i == 0) for i, word in enumerate(name.split()))


def _person_or_org(name: str, role: Role, place: str | None) -> Contributor:
    agency = canonical_agency(name)
    if agency:
        return Contributor(name=agency, role=role, kind="organization", location=place)
    return Contributor(name=proper_case(name), role=role, kind="person", location=place)


def split_names(text: str) -> list[tuple[str, str | None]] | None:
    """``A, B in London and C`` → ``[(A, London), (B, London), (C, None)]``; ``None`` if not names."""
    pieces = [piece.strip() for piece in _NAME_SPLIT.split(text) if piece and piece.strip()]
    entries: list[tuple[str, str | None]] = []
    for piece in pieces:
        piece = piece.strip(" .")
        match = _IN_PLACE.match(piece)
        name, place = (match["name"], match["place"]) if match else (piece, None)
        if place:
            place = proper_case(place.strip(" ."))
        if not name or not _NAME_OK.match(name) or not name[:1].isalpha():
            return None
        entries.append((name.strip(), place))
    if not entries:
        return None
    # a name without a place takes the place that closes its run of names
    resolved: list[tuple[str, str | None]] = []
    for index, (name, place) in enumerate(entries):
        if place is None:
            place = next((p for _, p in entries[index + 1 :] if p), None)
        resolved.append((name, place))
    return resolved


def parse_credit_line(text: str) -> Attribution:
    """Read a Reuters-style role list; unparseable lines are kept verbatim, crediting nobody."""
    line = clean_inline(text)
    body = _FRAME.sub("", line)
    matches = list(_ROLE_RE.finditer(body))
    if not matches or body[: matches[0].start()].strip(" ;,.-"):
        return Attribution((), line or None, parsed=False)
    contributors: list[Contributor] = []
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(body)
        names_text = body[match.end() : end].strip()
        names_text = re.sub(r"[\s;,]*(?:\band\b)?[\s;,]*$", "", names_text, flags=re.IGNORECASE)
        entries = split_names(names_text)
        if entries is None:
            return Attribution((), line, parsed=False)
        role = role_of(match["phrase"])
        contributors.extend(_person_or_org(name, role, place) for name, place in entries)
    unique = tuple(dict.fromkeys(contributors))
    return Attribution(unique, format_credit_line(unique), parsed=True)


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def format_credit_line(contributors: Iterable[Contributor]) -> str | None:
    """The canonical credit line: role groups in order of first appearance, ``; ``-joined."""
    groups: dict[Role, list[str]] = {}
    for person in contributors:
        label = f"{person.name} in {person.location}" if person.location else person.name
        groups.setdefault(person.role, []).append(label)
    if not groups:
        return None
    return "; ".join(f"{ROLE_LABELS[role]} {_join(names)}" for role, names in groups.items())
