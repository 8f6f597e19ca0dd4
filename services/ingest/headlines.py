"""Headline flags: what ``UPDATE 2-``, ``REFILE-``, ``CORRECTED-`` or ``KILL -`` say about an item.

Agencies (Reuters above all) prefix a headline with the kind of version it is. The flags leave the
headline and become the draft's signal; other prefixes (``PRECIOUS-``, a desk's topic code) stay.
"""

from __future__ import annotations

import re

from services.ingest.draft import Signal
from services.ingest.numbers import version_number

_HEADLINE_FLAG = re.compile(
    r"^(?P<flag>UPDATE\s*\d*|REFILE|RPT|REPEAT|CORRECTED|CORRECTION|WRAPUP\s*\d*|KILL|KILLED|"
    r"WITHDRAWN|WITHDRAWAL|ADVISORY|EXCLUSIVE|BREAKINGVIEWS|INSIGHT|ANALYSIS)\s*[-–:]\s*",
    re.IGNORECASE,
)
_FLAG_SIGNAL: dict[str, Signal] = {
    "update": "update",
    "refile": "update",
    "rpt": "update",
    "repeat": "update",
    "wrapup": "update",
    "corrected": "correction",
    "correction": "correction",
    "kill": "kill",
    "killed": "kill",
    "withdrawn": "kill",
    "withdrawal": "kill",
}


def split_headline_flags(headline: str) -> tuple[str, Signal | None]:
    """``UPDATE 2-Fed holds rates`` → (``Fed holds rates``, ``"update"``).

    With several flags the strongest wins (kill over correction over update), so
    ``REFILE-CORRECTED-…`` is a correction.
    """
    signal: Signal | None = None
    rank = {None: 0, "update": 1, "correction": 2, "withhold": 2, "kill": 3}
    while match := _HEADLINE_FLAG.match(headline):
        word = re.sub(r"[\s\d]+", "", match["flag"]).lower()
        found = _FLAG_SIGNAL.get(word)
        if rank[found] > rank[signal]:
            signal = found
        headline = headline[match.end() :]
    return headline.strip(), signal


_UPDATE_NUMBER = re.compile(
    r"^(?:(?:REFILE|RPT|REPEAT|CORRECTED|CORRECTION)\s*[-–:]\s*)*(?:UPDATE|WRAPUP)\s*(?P<n>[0-9]+)\s*[-–:]",
    re.IGNORECASE,
)


def update_number(headline: str) -> int | None:
    """The version an ``UPDATE 2-`` headline announces: the first story is 1, ``UPDATE 1`` is 2
    (also after ``REFILE-`` or ``CORRECTED-``: ``CORRECTED-UPDATE 2-`` corrects version 3)."""
    match = _UPDATE_NUMBER.match(headline.strip())
    number = version_number(match["n"]) if match else None
    return number + 1 if number is not None else None
