"""IPTC 7901, the teletype format dpa (and others) still send.

``SOH`` header line (service, priority, category, words, source, sequence) · keyword line ·
``STX`` · optional flag lines (``REFILE``, ``1ST LEAD``, ``CORRECTION``, ``KILL``…) · headline
(`` =`` at its end) · optional ``By … =`` byline · paragraphs separated by blank lines · the
"not for publication" notebook (``# dpa NOTEBOOK``, ``* * * *``, ``## …``) whose
``- Reporting by: …``/``- Editing by: …`` lines are the credit lines (continuation lines
indented) · sign-off (``dpa wsz jln``) · ``ETX`` · time (``131137 GMT Nov 13``).

7901 carries no GUID: identity is the agency, dateline and headline (decide.py). ``Nth LEAD``
gives source version N+1 (a later lead is a later version), as ANPA's ``Nth Ld`` does.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from services.ingest.assemble import Copy, normalise
from services.ingest.dateline import MONTHS, infer_year
from services.ingest.draft import Draft, Signal
from services.ingest.teletype import envelope, strip_controls
from services.ingest.textclean import clean_inline
from shared.errors import ParseError

_FLAG_LINE = re.compile(
    r"^(?:REFILE|REPEAT|CORRECTION|CORRECTED|KILL|WITHDRAWAL|WITHDRAWN|URGENT|FLASH|BULLETIN|"
    r"ADVISORY|\d+(?:ST|ND|RD|TH)\s+(?:LEAD|UPDATE)|LEAD|UPDATE|NEW|SUMMARY|EXCLUSIVE)$",
    re.IGNORECASE,
)
_FLAG_SIGNAL: dict[str, Signal] = {
    "update": "update",
    "lead": "update",
    "refile": "update",
    "repeat": "update",
    "correction": "correction",
    "corrected": "correction",
    "kill": "kill",
    "withdrawal": "kill",
    "withdrawn": "kill",
}
_NOTEBOOK = re.compile(
    r"^(?:#{1,2}\s|\*\s\*\s\*|The following information is not (?:intended )?for publication)",
    re.IGNORECASE,
)
_CREDIT = re.compile(
    r"^-\s*(?:Reporting|Editing|Writing|Compiled|Research)\b.*?\bby\s*:", re.IGNORECASE
)
_TIME = re.compile(
    r"(?P<day>\d\d)(?P<h>\d\d)(?P<m>\d\d)\s+(?:GMT\s+)?(?P<mon>[A-Z][a-z]{2})\s+(?P<d>\d{1,2})"
)
_HEADER_SOURCE = re.compile(r"\s(?P<source>[a-z][\w-]*)\s+\d+\s*$", re.IGNORECASE)


def _published(trailer: str, received: datetime | None) -> datetime | None:
    match = _TIME.search(trailer)
    if not match or match["mon"].lower() not in MONTHS:
        return None
    reference = received.date() if received else None
    day = infer_year(MONTHS[match["mon"].lower()], int(match["d"]), reference)
    if day is None:
        return None
    try:
        return datetime(day.year, day.month, day.day, int(match["h"]), int(match["m"]), tzinfo=UTC)
    except ValueError:
        return None


def _notebook_credits(lines: list[str]) -> list[str]:
    """``- Reporting by: …`` lines of the notebook, with their indented continuations joined."""
    credits: list[str] = []
    open_credit = False
    for line in lines:
        stripped = line.strip()
        if _CREDIT.match(stripped):
            credits.append(stripped)
            open_credit = True
        elif open_credit and line[:1] in (" ", "\t") and stripped and not stripped.startswith("-"):
            credits[-1] += " " + stripped
        else:
            open_credit = False
    return credits


def parse_iptc7901(text: str, received: datetime | None = None) -> list[Draft]:
    header, body, trailer = envelope(text.replace("\r\n", "\n").replace("\r", "\n"))
    header, body = strip_controls(header), strip_controls(body)
    lines = body.split("\n")
    signal: Signal | None = None
    version: int | None = None
    # flag lines, then the headline (ending " =") and the byline ("By … =")
    index = 0
    while index < len(lines) and (
        not lines[index].strip() or _FLAG_LINE.match(lines[index].strip())
    ):
        flag = lines[index].strip().lower()
        signal = _FLAG_SIGNAL.get(flag, signal)
        if lead := re.match(r"([0-9]{1,6})(?:st|nd|rd|th)\s+(?:lead|update)$", flag):
            # "2ND LEAD" is the story's third version, like ANPA's "2nd Ld"
            version = int(lead[1]) + 1
            signal = signal or "update"
        index += 1
    if index >= len(lines):
        raise ParseError("IPTC 7901 copy without a headline", format="iptc7901")
    headline = lines[index].strip().rstrip("=").strip()
    index += 1
    byline: str | None = None
    if index < len(lines) and lines[index].strip().lower().startswith("by "):
        byline = lines[index].strip().rstrip("=").strip()
        index += 1
    story_lines: list[str] = []
    notebook: list[str] = []
    for line in lines[index:]:
        if notebook or _NOTEBOOK.match(line.strip()):
            notebook.append(line)
        else:
            story_lines.append(line)
    blocks: list[tuple[str, str]] = []
    current: list[str] = []
    for line in [*story_lines, ""]:
        if line.strip():
            current.append(line.strip())
        elif current:
            blocks.append(("p", " ".join(current)))
            current = []
    source = _HEADER_SOURCE.search(clean_inline(header.split("\n", 1)[0]) + " ")
    agency = source["source"].split("-", 1)[0] if source else None
    copy = Copy(
        format="iptc7901",
        headline=headline,
        blocks=blocks,
        byline=byline,
        credit_lines=_notebook_credits(notebook),
        default_agency=agency,
        published=_published(trailer, received),
        signal=signal,
        source_version=version,
    )
    if not clean_inline(copy.headline):
        raise ParseError("IPTC 7901 copy without a headline", format="iptc7901")
    return [normalise(copy, received)]
