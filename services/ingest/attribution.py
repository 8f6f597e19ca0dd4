"""Credit lines become contributors with roles, and one canonical ``credit_line``.

``(Reporting by A in Kyiv and B; Writing by C; Editing by D and E)`` becomes
``[A reporting Kyiv, B reporting, C writing, D editing, E editing]`` and
``Reporting by A in Kyiv and B; Writing by C; Editing by D and E``.

Styles read (docs/attribution.md has the reading rules and the decisions):
- role lists in any case and punctuation (Reuters, dpa's ``- Reporting by:``, ``Edited by:``,
  ``Compiled by``, ``Video shot/edited by``, ``Produced by``, German ``Autor/in:``/``Redaktion:``);
- ``X contributed (reporting) (to this report) (from City)`` with outlet and job-title prefixes
  (AP's ``Associated Press writers X and Y``, ``CNN's X``);
- ``X reported from City(, and Y from City)``;
- Bloomberg's ``--With assistance from X.`` and ``To contact the reporter/editors …:`` blocks;
- bylines (``By X and Y``, ``By X, dpa =``, ``Von: …``);
- photo credits (``Name/Pool via REUTERS``, ``(AP Photo/Name)``, ``AFP via Getty Images``);
- lines that credit nobody: copyright notices, AFP desk codes (``bur-xx/yy``, ``jah/ec/rl``), dpa
  sign-offs (``dpa wsz jln``), ANPA advisories (``^Eds: …<``).

A line that looks like credits but does not parse is kept verbatim, with no invented contributors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from services.ingest.bylines import BYLINE, agency_named, parse_byline
from services.ingest.namelists import NotNames, contributors_of
from services.ingest.notices import is_signoff
from services.ingest.personnames import proper_case
from services.ingest.photos import looks_like_photo_credit, photographers
from services.ingest.textclean import clean_inline
from shared.models import ROLES, Contributor, Role

__all__ = [
    "ROLE_LABELS",
    "Attribution",
    "agency_named",
    "combine",
    "format_credit_line",
    "is_credit_trailer",
    "is_signoff",
    "looks_like_credit",
    "parse_byline",
    "parse_credit_line",
    "proper_case",
]

#: role phrase (as a regex) -> role; the longest phrases first so "additional reporting" wins
_ROLE_PHRASES: tuple[tuple[str, Role], ...] = (
    (r"(?:with\s+)?additional\s+reporting", "additional_reporting"),
    (r"(?:with|based\s+on)\s+(?:excellent\s+)?reporting", "reporting"),
    (r"video\s+shot/edited|video\s+(?:shot|edited|produced)", "video"),
    (r"video\s+(?:from\s+[^;.]{1,80}?\s+)?directed", "video"),
    (r"reporting", "reporting"),
    (r"reported", "reporting"),
    (r"interviews?", "reporting"),
    (r"writing", "writing"),
    (r"written", "writing"),
    (r"editing", "editing"),
    (r"edited", "editing"),
    (r"compiled", "compiling"),
    (r"compiling", "compiling"),
    (r"research(?:ed)?", "research"),
    (r"(?:info)?graphics?", "graphics"),
    (r"video", "video"),
    (r"photo(?:graph)?s|photography|photographed", "photography"),
    (r"translat(?:ed|ion)", "translation"),
    (r"produced|production", "contributing"),
    (r"contributions?", "contributing"),
)
_ROLE_RE = re.compile(
    r"(?<![\w-])(?P<phrase>"
    + "|".join(f"(?:{p})" for p, _ in _ROLE_PHRASES)
    + r")\s+by\b\s*:?\s*"
    + r"|(?<![\w-])(?P<label>Contributing|Autor/in|Autorin|Autor|Redaktion|Reporting|Editing)\s*:\s*",
    re.IGNORECASE,
)
_LABEL_ROLES: dict[str, Role] = {
    "contributing": "contributing",
    "autor/in": "reporting",
    "autorin": "reporting",
    "autor": "reporting",
    "redaktion": "editing",
    "reporting": "reporting",
    "editing": "editing",
}

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

_FRAME_TAIL = re.compile(r"[\s.=]+$")
#: what may close a names list before the next role: separators, "and", and the " / - " that
#: joins dpa's trailers on one line (``- Reporting by: X / - Editing by: Y``)
_LIST_TAIL = re.compile(r"[\s;,/|–—-]*(?:\band\b)?[\s;,/|–—-]*$", re.IGNORECASE)
#: Reuters' contact block: ``((jane.doe@thomsonreuters.com; +44 20 …; Reuters Messaging: …))``
_CONTACT_BLOCK = re.compile(r"\(\((?:[^()]|\([^()]*\))*\)\)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d\s/().-]{5,}\d(?!\w)")
_ISO_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
_FRAME_START = re.compile(r"^[\s(\[\-–—•*=]+")
_SENTENCE = re.compile(r"(?<!\b[A-Z])(?<!\b[A-Z][a-z])(?<!\b[A-Z][a-z]{2})\.\s+(?=[A-Z\"“(])")
_TIMESTAMP = re.compile(r"^[\w ,.]*\d{4}.*\b(?:GMT|UTC|HKT|ET|Updated)\b.*$", re.IGNORECASE)

# sentence-shaped credits
_CONTRIBUTED = re.compile(
    r"^(?P<names>.+?)\s+contributed"
    r"(?:\s+(?:reporting|research|to\s+this\s+(?:report|story|article)))*"
    r"(?:\s+from\s+(?P<place>[^.]+?))?\s*\.?$",
    re.IGNORECASE,
)
_WRITER_PREFIX = re.compile(
    r"^(?:--\s*)?(?:(?:The\s+)?Associated\s+Press|AP|Reuters|AFP|Bloomberg)?\s*"
    r"(?:[A-Z][a-z]+\s+){0,2}(?:[Ss]taff\s+)?(?:[Ww]riters?|[Cc]orrespondents?|[Rr]eporters?)\s+"
)
_POSSESSIVE = re.compile(
    r"^(?:--\s*)?(?P<outlet>[A-Z][\w.&]*(?:\s+[A-Z][\w.&]*){0,3})(?:['’]s|’|')\s+"
)
_REPORTED_FROM = re.compile(r"^(?P<names>.+?)\s+reported\s+from\s+(?P<rest>.+?)\.?$")
_ALSO_FROM = re.compile(r"^(?P<names>.+?)\s+from\s+(?P<place>.+)$")
_ASSISTANCE = re.compile(r"^-*\s*With\s+assistance\s+from\s+(?P<names>.+?)\.?$", re.IGNORECASE)
_CONTACT = re.compile(
    r"To\s+contact\s+the\s+(?P<who>reporters?|editors?)\b[^:]*:\s*(?P<names>.*?)(?=To\s+contact\s+the|$)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Attribution:
    """The result of reading one credit line."""

    contributors: tuple[Contributor, ...]
    credit_line: str | None
    parsed: bool


_NOBODY = Attribution((), None, True)


@lru_cache(maxsize=256)
def role_of(phrase: str) -> Role:
    phrase = " ".join(phrase.lower().split())
    for pattern, role in _ROLE_PHRASES:
        if re.fullmatch(pattern, phrase):
            return role
    raise ValueError(phrase)


def _strip_frame(text: str) -> str:
    """``(Reporting by …)`` → ``Reporting by …``; parentheses inside the line stay balanced."""
    text = _FRAME_START.sub("", text)
    while text.endswith((")", "]")) and text.count("(") + text.count("[") < text.count(
        ")"
    ) + text.count("]"):
        text = text[:-1].rstrip()
    return _FRAME_TAIL.sub("", text)


#: the first words a role list can start with (after its frame): a cheap test before the full one
_ROLE_START = re.compile(
    r"[\s(\[\-–—•*=]*(?:with|based|additional|video|report|interview|writ|edit|compil|research|"
    r"graphic|infographic|photo|translat|produc|contribut|autor|redaktion)",
    re.IGNORECASE,
)


def looks_like_credit(text: str) -> bool:
    """Does ``text`` start like a role list (``(Reporting by …``, ``- Editing by: …``)?"""
    if not _ROLE_START.match(text):
        return False  # clears almost every story paragraph at its first word
    stripped = _strip_frame(text.strip()[:200])
    match = _ROLE_RE.match(stripped)
    return bool(match and match["phrase"])


_SENTENCE_HINTS = ("contributed", "reported from", "assistance from", "to contact the")


def is_credit_trailer(text: str) -> bool:
    """Is this paragraph (at the end of a story) a credit line of any style?"""
    if len(text) > 600:
        return False
    if looks_like_credit(text):
        return True
    if not any(hint in text.casefold() for hint in _SENTENCE_HINTS):
        return False  # the cheap test that clears almost every story paragraph
    core = _strip_frame(text.strip())
    if _ASSISTANCE.match(core) or core.lower().startswith("to contact the"):
        return True
    words = len(core.split())
    if words <= 60 and "contributed" in core and _CONTRIBUTED.match(core):
        return True
    return words <= 30 and bool(_REPORTED_FROM.match(core)) and core[:1].isupper()


def _first_sentence(text: str) -> tuple[str, str]:
    match = _SENTENCE.search(text)
    return (text[: match.start()], text[match.end() :]) if match else (text, "")


def _role_list(core: str) -> list[Contributor] | None:
    matches = list(_ROLE_RE.finditer(core))
    if not matches:
        return None
    prefix = core[: matches[0].start()].strip(" ;,.-–—:")
    if prefix and not _TIMESTAMP.match(prefix):
        return None
    people: list[Contributor] = []
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(core)
        names_text = core[match.end() : end]
        names_text, rest = _first_sentence(names_text)
        if rest and index + 1 < len(matches):
            raise NotNames(rest)
        names_text = _LIST_TAIL.sub("", names_text)
        role = _LABEL_ROLES[match["label"].lower()] if match["label"] else role_of(match["phrase"])
        found = contributors_of(names_text, role)
        if not found:
            raise NotNames(names_text)
        people.extend(found)
    return people


def _sentence(sentence: str) -> list[Contributor] | None:
    """One sentence of an AP/CNN/Bloomberg-style credit; ``None`` when it is no credit."""
    sentence = sentence.strip()
    if match := _ASSISTANCE.match(sentence):
        return contributors_of(match["names"], "contributing")
    if match := _CONTRIBUTED.match(sentence):
        names = _WRITER_PREFIX.sub("", _POSSESSIVE.sub("", match["names"]))
        people = contributors_of(names, "contributing")
        if match["place"]:
            place = clean_inline(match["place"])
            people = [p if p.location else p.model_copy(update={"location": place}) for p in people]
        return people
    if match := _REPORTED_FROM.match(sentence):
        clauses = re.split(
            r",?\s+and\s+(?=\S+\s+\S+\s+from\s)|,\s+(?=\S+\s+\S+\s+from\s)", match["rest"]
        )
        people = [
            p.model_copy(update={"location": clean_inline(clauses[0])})
            for p in contributors_of(match["names"], "reporting")
        ]
        for clause in clauses[1:]:
            also = _ALSO_FROM.match(clause.strip())
            if not also:
                raise NotNames(clause)
            place = clean_inline(also["place"]).rstrip(".")
            people += [
                p.model_copy(update={"location": place})
                for p in contributors_of(also["names"], "reporting")
            ]
        return people
    return None


def _contacts(core: str) -> list[Contributor] | None:
    blocks = list(_CONTACT.finditer(core))
    if not blocks:
        return None
    people: list[Contributor] = []
    for block in blocks:
        role: Role = "editing" if block["who"].lower().startswith("editor") else "reporting"
        names = re.sub(r"\s+at\s+\S+@\S+", ", ", block["names"])
        people += contributors_of(names.strip(" ."), role)
    return people


def _read(core: str) -> list[Contributor] | None:
    """Contributors of one credit line, ``None`` when it names no credit style at all."""
    opening = _ROLE_RE.match(core)
    if opening and opening["phrase"] and role_of(opening["phrase"]) != "photography":
        return _role_list(core)  # the common case: a role list from its first word
    if is_signoff(core):
        return []
    if (contacts := _contacts(core)) is not None:
        return contacts
    if BYLINE.match(core) and not _ROLE_RE.search(core):
        return parse_byline(core)
    roles = _ROLE_RE.search(core)
    if looks_like_photo_credit(core) and not (
        roles and roles["phrase"] and role_of(roles["phrase"]) != "photography"
    ):
        return photographers(core)
    if (people := _role_list(core)) is not None:
        return people
    found: list[Contributor] = []
    credited = False
    rest = core
    while rest:
        sentence, rest = _first_sentence(rest)
        people = _sentence(sentence)
        if people is None:
            if credited or rest:
                raise NotNames(sentence)
            return None
        credited = True
        found += people
    return found if credited else None


def redact_contacts(line: str) -> str:
    """``line`` without e-mail addresses and phone numbers (a verbatim credit line is published;
    the contacts in it are for editors)."""
    out = _EMAIL.sub("", line)
    out = _PHONE.sub(
        lambda m: m.group() if _ISO_DATE.match(m.group().strip()) or _digits(m.group()) < 7 else "",
        out,
    )
    out = re.sub(r"\s*([,;])(?:\s*[,;])+", r"\1", out)  # separators left doubled
    out = re.sub(r"[\s,;:]+([)\]])", r"\1", out)  # … before a closing bracket
    out = re.sub(r"([(\[])[\s,;:]+", r"\1", out)  # … after an opening one
    out = re.sub(r"\(\s*\)|\[\s*\]", "", out)
    return re.sub(r"\s{2,}", " ", out).strip(" ,;:")


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


@lru_cache(maxsize=4096)
def parse_credit_line(text: str) -> Attribution:
    """Read one credit line of any style; unparseable lines are kept verbatim (their e-mail
    addresses and phone numbers redacted), crediting nobody. Reuters' ``((…))`` contact blocks
    are taken out first: they name no one the story credits.

    Cached: an agency's credit lines repeat (every update of a story carries the same one, and a
    desk's staff is a small set), and the result is immutable.
    """
    line = clean_inline(text)
    if "((" in line:
        line = clean_inline(_CONTACT_BLOCK.sub(" ", line))
    core = _strip_frame(line)
    if not core:
        return _NOBODY
    try:
        people = _read(core)
    except NotNames:
        people = None
    if people is None:
        return Attribution((), redact_contacts(line) or None, parsed=False)
    unique = tuple(dict.fromkeys(people))
    return Attribution(unique, format_credit_line(unique), parsed=True)


def combine(
    contributors: Sequence[Contributor], results: Iterable[Attribution]
) -> tuple[str | None, bool]:
    """The story's credit line: its contributors in canonical form (photographers stay on their
    photos), then any credit line we could not read, verbatim; and whether every line parsed."""
    verbatim = [r.credit_line for r in results if not r.parsed and r.credit_line]
    canonical = format_credit_line(c for c in contributors if c.role != "photography")
    parts = ([canonical] if canonical else []) + verbatim
    return ("; ".join(parts) or None), not verbatim


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def format_credit_line(contributors: Iterable[Contributor]) -> str | None:
    """The canonical credit line: role groups in order of first appearance, ``; ``-joined."""
    groups: dict[Role, list[str]] = {}
    for person in contributors:
        label = f"{person.name} in {person.location}" if person.location else person.name
        if label not in groups.setdefault(person.role, []):
            groups[person.role].append(label)
    if not groups:
        return None
    return "; ".join(f"{ROLE_LABELS[role]} {_join(names)}" for role, names in groups.items())
