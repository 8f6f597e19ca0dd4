"""Photo captions and their credits: ``… Moscow, February 2, 2026. Name/Pool via REUTERS``.

Two jobs: split a caption line into (caption, credit), and read the people a credit names
(``(AP Photo/Jeff Chiu, File)`` → Jeff Chiu). Agencies, ``Pool``, ``File``, ``STR`` and other
organisation words are not people; a photo credit naming no person credits nobody.
"""

from __future__ import annotations

import re
from functools import lru_cache

from services.ingest.namelists import REGIONS
from services.ingest.personnames import is_person_name, proper_case
from shared.models import Contributor

_AGENCY_WORDS = r"(?:REUTERS|Reuters|AP|AFP|Getty Images|Getty|dpa|EPA(?:-EFE)?|Xinhua|Bloomberg|AAP|ANP|PA(?: Media| Wire)?|Pool|Shutterstock|File)"
_CREDIT = re.compile(
    r"^(?:"
    rf"\(AP Photo(?:/[^)]+)?\)"                               # (AP Photo/Name)
    rf"|(?:Photo|Photograph|Picture|Image|Credit)s?(?: by)?:\s*.+"  # Photo: Name/AFP
    rf"|©\s*.+"                                               # © Name/dpa
    rf"|REUTERS(?:\s*/\s*[^.]+)?"                             # REUTERS/Name
    rf"|[^.]{{0,80}}\bvia\s+{_AGENCY_WORDS}"                  # Name/Pool via REUTERS
    rf"|[^./]{{2,60}}\s*/\s*{_AGENCY_WORDS}(?:\s*/\s*[^.]{{1,40}})?"  # Name/AFP, Name/Pool/AFP
    r")$"
)  # fmt: skip

# --- reading the people in a credit ----------------------------------------------------------

_LABEL = re.compile(
    r"(?:(?<!FILE )(?<!File )\b(?:Photo(?:graph)?s?|Photographer|Image\s+credit|Pictures?|Fotos?|"
    r"Bild(?:rechte)?|Credit|Quelle|Rubriklistenbild)\s*:"
    r"|\b(?:Photo(?:graph)?s?|Pictures?|Images?)\s+by\b|\bCredit\b(?!:)|©|\(c\))\s*",
    re.IGNORECASE,
)
_TRAILING_CHROME = re.compile(
    r"(?:\s*(?:\bless|\bmore|\bClose|\(\s*[A-Z][A-Z ]+-\s*Tags:[^)]*\)|[-–.]))+\s*$"
)
_AGENCY_SLASH = re.compile(
    r"(?:\bREUTERS|\bReuters|\bAP Photo|\bAFP|\bdpa|\bEPA)\s*/\s*", re.IGNORECASE
)
_SENTENCE_END = re.compile(r"(?<![A-Z])(?<!\b[A-Z][a-z])[.!?…”’\"]\s*(?=[A-ZÀ-Þ(©])")
_PARTS = re.compile(r"\s*(?:/|\|| - | – | — |—|,\s*(?:and\s+)?|\s+and\s+|\s+via\s+|\s+for\s+)\s*")
#: a credit with no label, parentheses or sentence before it: commas belong to the caption
_UNLABELLED_PARTS = re.compile(r"\s*(?:/|\|| - | – | — |—|\s+via\s+|\s+for\s+)\s*")
_POOL = re.compile(r"\b(?:pool|handout)\b", re.IGNORECASE)


def is_photo_credit(text: str) -> bool:
    text = text.strip()
    return bool(text) and len(text.split()) <= 12 and bool(_CREDIT.match(text))


@lru_cache(maxsize=1024)
def split_caption_credit(line: str) -> tuple[str, str] | None:
    """(caption, credit) when ``line`` ends with a photo credit; ``None`` otherwise."""
    line = line.strip()
    if line.endswith(")") and "(" in line:
        start = line.rfind("(")
        credit = line[start:]
        if is_photo_credit(credit):
            return line[:start].strip(), credit
    # the credit is the last sentence: find the last ". " that leaves a credit after it
    for match in reversed(list(re.finditer(r"[.!?]\s+", line))):
        credit = line[match.end() :]
        if is_photo_credit(credit):
            return line[: match.start() + 1].strip(), credit.strip()
    if is_photo_credit(line):
        return "", line
    return None


def looks_like_photo_credit(text: str) -> bool:
    """Cheap test: does this line carry a photo credit anywhere (label, ``©``, ``Agency/Name``)?"""
    return bool(
        _LABEL.search(text)
        or _AGENCY_SLASH.search(text)
        or re.search(r"\bAP Photo\b|\bGetty\b|\bvia (?:REUTERS|AP|AFP)\b", text)
        or re.search(r"^[^/]{2,40}/\s*[^/]{2,40}(?:/[^/]{2,40})*$", text.strip())
        or re.search(
            r"/\s*(?:AFP|AP|REUTERS|Reuters|dpa|Getty|EPA|Xinhua|Bloomberg)\b[^/]{0,30}$", text
        )
    )


def credit_segment(text: str) -> tuple[str, bool]:
    """The part of a caption line that is its credit, and whether something marked it as one
    (a label, ``©``, parentheses, a leading ``Agency/``): only then do commas separate names."""
    text = _TRAILING_CHROME.sub("", text.replace("\u200b", "").replace("\xa0", " ").strip())
    # a trailing parenthetical or bracket holding a credit
    match = re.search(
        r"[(\[](?P<inner>[^()\[\]]*(?:/|Photo|Foto|Credit|AFP|AP|Getty)[^()\[\]]*)[)\]]$", text
    )
    if match:
        inner, _ = credit_segment(match["inner"])
        return inner, True
    labels = list(_LABEL.finditer(text))
    if labels:
        return text[labels[-1].end() :], True
    if " | " in text:
        before, after = text.rsplit(" | ", 1)
        return (after, False) if len(before.split()) > 6 else (text, False)
    if _AGENCY_SLASH.match(text):
        return text, True
    # unlabelled: the credit starts after the last sentence end before its first slash
    slash = text.find("/")
    head = text if slash < 0 else text[:slash]
    ends = list(_SENTENCE_END.finditer(head))
    return (text[ends[-1].end() :] if ends else text), False


def caption_and_credit(text: str) -> tuple[str, str]:
    """(caption, credit) of a caption line; the credit keeps its label or parentheses, so that
    reading it again (``photographers``) sees what marked it as a credit."""
    segment, _ = credit_segment(text)
    pos = text.rfind(segment) if segment else -1
    if pos < 0:
        return text, segment
    for label in _LABEL.finditer(text):
        if pos - 2 <= label.end() <= pos + 1:
            pos = label.start()
    if pos > 0 and text[pos - 1] in "([":
        pos -= 1
    return text[:pos].strip(), text[pos:].strip()


def _leading_credit(text: str) -> str | None:
    """``dpa/Jan Woitas Im Oktober …``: a credit in front of the caption (two name words)."""
    match = re.match(r"^(?:dpa|AFP|AP|REUTERS|Reuters)\s*/\s*(?P<rest>.+)$", text)
    if not match or len(match["rest"].split()) <= 4:
        return None
    words = match["rest"].split()
    return " ".join(words[:2])


def photographers(credit: str, *, own_only: bool = False) -> list[Contributor]:
    """The people a photo credit names, each ``photography``.

    ``own_only``: a pool or handout photo (``Name/Pool via REUTERS``) was taken for a pool, not
    for this story, so it credits nobody in the story's contributors (its credit stays on the
    photo); see docs/attribution.md.
    """
    if not credit or (own_only and _POOL.search(credit)):
        return []
    leading = _leading_credit(credit.strip())
    segment, marked = (leading, True) if leading else credit_segment(credit)
    # "… for Ithaca Holdings", "… for Bloomberg Businessweek": the client, never a person
    segment = re.sub(r"\s+for\s+[^/|,]+", "", segment)
    splitter = _PARTS if marked else _UNLABELLED_PARTS
    people: list[Contributor] = []
    for part in splitter.split(segment):
        part = part.strip(" .:-–()[]\u200b")
        # photographers are credited by full name; one word is an organisation (Bundespolizei)
        if part and len(part.split()) >= 2 and part.lower() not in REGIONS and is_person_name(part):
            name = proper_case(part)
            if all(p.name != name for p in people):
                people.append(Contributor(name=name, role="photography", kind="person"))
    return people
