"""Bylines: ``By X and Y`` → the people who reported the story (the byline rule).

People named in a byline are credited ``reporting`` in every format (docs/attribution.md).
"""

from __future__ import annotations

import re

from services.ingest.agencies import canonical_agency
from services.ingest.namelists import NotNames, contributors_of
from services.ingest.notices import DESK_CODE
from services.ingest.textclean import clean_inline
from shared.models import Contributor

BYLINE = re.compile(r"^(?:By|Von)\s*:?\s+(?P<names>.+)$", re.IGNORECASE)
_BYLINE_TAIL = re.compile(
    r"(?:,?\s+(?:[A-Z][\w.&'-]*\s+){0,5}(?:Writers?|Correspondents?|Reporters?|Editors?)|\s*=\s*)$"
)
_FRAME = re.compile(r"^[\s(\[\-–—•*=]+")
_AFTER_NAMES = re.compile(r"\s+[/|–—-]\s+")


_NAMED_OUTLET = re.compile(
    r"^(?:--\s*)?(?:The\s+)?(?P<outlet>Associated\s+Press|AP|Reuters|AFP|Bloomberg|dpa|UPI)\b"
    r"(?:['’]s)?\s+(?:[A-Z][a-z]+\s+)?(?:writers?|correspondents?|reporters?|staff)\b",
    re.IGNORECASE,
)


def agency_named(text: str) -> str | None:
    """The agency a credit line names for its writers (``Associated Press writers X and Y…``)."""
    match = _NAMED_OUTLET.match(_FRAME.sub("", clean_inline(text)))
    return canonical_agency(match["outlet"]) if match else None


def parse_byline(text: str) -> list[Contributor]:
    """``By X and Y`` → X and Y, each ``reporting`` (the byline rule, docs/attribution.md).

    Outlet words that close a byline (``, Associated Press``, ``, dpa =``, job titles) are
    dropped; a byline of an agency alone (``By Reuters``), desk initials (``Von: det/dpa``),
    ``dpa correspondents`` or a one-word user name (``admin``) names nobody: the agency is the
    story's agency, not a contributor.
    """
    line = clean_inline(text)
    match = BYLINE.match(line)
    names = match["names"] if match else line
    names = _BYLINE_TAIL.sub("", names).strip(" =")
    # "Geir Molnes / Faktisk.no", "X and Y - AP Technology Writers | AP": what follows is not names
    names = _AFTER_NAMES.split(names, maxsplit=1)[0]
    if not names or DESK_CODE.match(names.replace(" ", "")) or "/" in names:
        return []
    try:
        people = contributors_of(names, "reporting", drop_agencies=True, lenient=True)
    except NotNames:
        return []
    return [p for p in people if len(p.name.split()) > 1]
