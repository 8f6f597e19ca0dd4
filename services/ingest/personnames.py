"""People's names in credit lines: is this a name, its proper case, and lists of names with places.

Pure string work shared by the credit-line, byline and photo-credit readers.
"""

from __future__ import annotations

import re
from functools import lru_cache

from services.ingest.agencies import canonical_agency

PARTICLES = frozenset(
    {"al", "el", "bin", "bint", "ibn", "abu", "de", "del", "della", "der", "den", "di", "da",
     "do", "dos", "du", "la", "le", "van", "von", "ter", "ten", "y", "e", "zu", "af", "av"}
)  # fmt: skip

#: words that make a run of capitalised words an organisation, a job or page furniture, not a person
NOT_NAME_WORDS = frozenset(
    {"agency", "agencies", "press", "news", "service", "services", "pictures", "picture", "images",
     "image", "photo", "photos", "photograph", "photographs", "photography", "office", "ministry",
     "department", "parliament", "government", "council", "university", "police", "army", "navy",
     "tv", "television", "radio", "times", "post", "telegram", "tribune", "herald", "heraldo",
     "journal", "gazette", "newspaper", "magazine", "daily", "weekly", "alliance", "handout",
     "pool", "file", "files", "staff", "stringer", "str", "stf", "uncredited", "archive",
     "archivbild", "courtesy", "getty", "corbis", "sipa", "zuma", "invision", "montage",
     "illustration", "photononstop", "anadolu", "xinhua", "sid", "kcna", "sana", "tns", "usa",
     "wire", "network", "center", "centre", "foundation", "institute", "association", "company",
     "inc", "ltd", "group", "correspondents", "correspondent", "staffers", "writers", "writer",
     "editors", "editor", "reporters", "reporter", "bureau", "desk", "media", "reuters", "afp",
     "ap", "dpa", "epa", "bloomberg", "businessweek", "rights", "reserved", "copyright", "report",
     "story", "this", "that", "the", "and", "with", "from", "for", "via", "by", "contributed",
     "reporting", "editing", "writing", "inputs", "user", "flickr", "salon", "slate",
     "politico", "facebook", "twitter", "instagram", "youtube", "viewing", "our", "your", "content",
     "watch", "min", "read", "share", "subscribe", "follow", "video", "newsroom", "newsrooms",
     "bureaus", "bureaux", "desks"}
)  # fmt: skip
#: Gaelic ``Mac`` surnames whose next letter is a capital (``MACDONALD`` → ``MacDonald``); ``Mac``
#: alone is no rule (Macron, Machado, Macias), ``Mc`` always is (``MCKAY`` → ``McKay``)
MAC_STEMS = frozenset(
    {"allister", "arthur", "askill", "aulay", "bride", "callum", "carthy", "cormick", "dermott",
     "donald", "donnell", "dougall", "ewan", "farlane", "gill", "gowan", "grath", "gregor",
     "guire", "innes", "intosh", "intyre", "iver", "kay", "kenzie", "kinlay", "kinley",
     "kinnon", "lachlan", "laren", "lean", "lellan", "lennan", "leod", "lure", "mahon", "manus",
     "millan", "namara", "namee", "neil", "neill", "pherson", "queen", "rae", "sween",
     "tavish", "vicar"}
)  # fmt: skip
_DOTTED_LOGIN = re.compile(r"[^\W\d_]{2,}\.[^\W\d_]{2,}")
_ARTICLES = frozenset({"the", "el", "la", "le", "les", "los", "las", "der", "die", "das", "il"})
_WORD = re.compile(r"^(?:[^\W\d_][\w'’.\-]*|[A-Z]\.?)$")


def _word_case(word: str, first: bool) -> str:
    parts = re.split(r"([-'’/])", word)
    out: list[str] = []
    for index, part in enumerate(parts):
        low = part.lower()
        if part in ("-", "'", "’", "/"):
            out.append(part)
        elif low in PARTICLES and not (first and index == 0) and (index + 1 < len(parts)):
            out.append(low)  # al-Mahdi, bin-…: a particle joined to what follows
        elif low in PARTICLES and not first and index == 0:
            out.append(low)  # van, von, de standing alone inside a name
        elif index > 0 and parts[index - 1] in ("'", "’") and len(part) == 1:
            out.append(low)  # O'Neill's possessive-like single letters stay low (rare)
        else:
            out.append(_gaelic(low[:1].upper() + low[1:]))
    return "".join(out)


def _gaelic(word: str) -> str:
    """``Mckay`` → ``McKay``; ``Macdonald`` → ``MacDonald`` for the known ``Mac`` surnames."""
    if word.startswith("Mc") and len(word) > 3 and word[2].isalpha():
        return "Mc" + word[2].upper() + word[3:]
    if word.startswith("Mac") and word[3:] in MAC_STEMS:
        return "Mac" + word[3].upper() + word[4:]
    return word


@lru_cache(maxsize=8192)
def proper_case(name: str) -> str:
    """``JOHN SMITH`` → ``John Smith``, ``nidal al-mughrabi`` → ``Nidal al-Mughrabi``.

    Mixed-case names are the writer's choice and stay as written, except that a surname in
    capitals of three letters or more (AFP's ``Ezequiel BECERRA``) is given its proper case;
    two-letter capitals (``Indulal PM``, ``Varun H K``) are initials and stay.
    """
    letters = [ch for ch in name if ch.isalpha()]
    if not letters:
        return name
    if all(c.isupper() for c in letters) or all(c.islower() for c in letters):
        return " ".join(_word_case(word, i == 0) for i, word in enumerate(name.split()))
    words = name.split()
    fixed = []
    for i, word in enumerate(words):
        alpha = [c for c in word if c.isalpha()]
        if len(alpha) >= 3 and all(c.isupper() for c in alpha):
            fixed.append(_word_case(word, i == 0))
        else:
            fixed.append(word)
    return " ".join(fixed)


def undouble(name: str) -> str:
    """``Blacki MigliozziBlacki Migliozzi`` (a name doubled by text extraction) → once."""
    half = len(name) // 2
    if len(name) % 2 == 0 and name[:half] == name[half:]:
        return name[:half]
    return name


@lru_cache(maxsize=8192)
def is_person_name(text: str) -> bool:
    """Does ``text`` read as one person's name (1–5 words besides particles, capitalised, no
    organisation word)?

    Particles do not count toward the five words (``María José García de la Torre``). One word
    is accepted only in capitals-and-lowercase (``Gillum``): credit lines name people by surname
    after a byline; a dotted login (``degenhardt.sandra``) is no name. Organisations are refused
    by their words (``Pictures``, ``Pool``, ``Getty``, ``Newsroom``) or by a leading article
    (``The Local``, ``EL HERALDO``).
    """
    words = text.split()
    named = [word for word in words if word.lower() not in PARTICLES]
    if not 1 <= len(named) <= 5 or len(words) > 9 or "," in text:
        return False
    if any(_DOTTED_LOGIN.search(word) for word in words):
        return False
    if words[0].lower() in _ARTICLES and len(words) > 1:
        return False
    if canonical_agency(text):
        return False
    capitalised = 0
    for word in words:
        bare = word.strip(".,")
        low = bare.lower()
        if not bare or not _WORD.match(bare):
            return False
        if low in NOT_NAME_WORDS or any(p.lower() in NOT_NAME_WORDS for p in bare.split("-")):
            return False
        if bare[0].isupper():
            capitalised += 1
        elif low not in PARTICLES and low.split("-", 1)[0] not in PARTICLES:
            return False
    if capitalised == 0:
        return False
    if len(words) == 1:
        word = words[0]
        return len(word) >= 3 and word[0].isupper() and not word.isupper()
    return True
