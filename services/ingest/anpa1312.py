"""ANPA 1312, the teletype format AP still sends.

``SYN SYN SOH`` · selector line · service line (priority, category, ``DC3 DC1``, slug such as
``BC-AS--China-DaringEscap``, version such as ``3rdLd-Writethru``, ``MM-DD`` date, word count) ·
``STX`` · ``^``-marked lines ending in ``<`` or ``=``: the keyword line, the headline,
``AP Photo …``, ``Eds: …`` and ``EDITOR'S NOTE`` advisories, a summary, the byline
(``^By NAME=``) and its title (``^Associated Press=``) · tab-indented paragraphs · ``ETX`` and
the transmission tag (``AP-WF-05-09-17 0056GMT``) that dates the take.

The slug is AP's identity for a story across its writethrus (the headline changes with each
lead), so it is the guid here; ``Nth Ld`` gives source version N+1 and an update signal;
``Correction``/``Corrects`` → correction; ``Kill``/``Withdrawal`` → kill. `` _ `` dashes and
````…''`` quotes become typographic ones.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from services.ingest.assemble import Copy, normalise
from services.ingest.dateline import parse_dateline
from services.ingest.draft import Draft, Signal
from services.ingest.teletype import envelope, strip_controls, typewriter_to_typographic
from services.ingest.textclean import clean_inline
from shared.errors import ParseError

_SERVICE = re.compile(
    r"(?P<slug>BC-[\w&'.-]+)(?:\s+(?P<version>[\w-]*(?:Ld|Writethru|Correction|Kill|Withdrawal|Sub|Adv)[\w-]*))?"
    r"\s+(?P<mm>\d\d)-(?P<dd>\d\d)(?:\s+\d+)?",
)
_LEAD = re.compile(r"(?P<n>[0-9]{1,6})(?:st|nd|rd|th)\s*Ld", re.IGNORECASE)
_TAG = re.compile(r"AP-[A-Z]{2}-(?P<m>\d\d)-(?P<d>\d\d)-(?P<y>\d\d)\s+(?P<H>\d\d)(?P<M>\d\d)GMT")
_ADVISORY = re.compile(
    r"^(?:\(?Eds?:|AP Photos?\b|AP Video\b|EDITOR'S NOTE|With AP Photos|Embargoed|For use)",
    re.IGNORECASE,
)


def _version(
    service: re.Match[str] | None, advisories: list[str]
) -> tuple[int | None, Signal | None]:
    text = " ".join([service["version"] or "" if service else "", *advisories])
    signal: Signal | None = None
    version: int | None = None
    if lead := _LEAD.search(text):
        version = int(lead["n"]) + 1
        signal = "update"
    if re.search(r"\bwritethru\b", text, re.IGNORECASE):
        signal = signal or "update"
    if re.search(r"\bcorrect(?:ion|s|ed)\b", text, re.IGNORECASE):
        signal = "correction"
    if re.search(r"\b(?:kill|withdrawal|withdrawn|eliminate)\b", text, re.IGNORECASE):
        signal = "kill"
    return version, signal


def _published(trailer: str) -> datetime | None:
    match = _TAG.search(trailer)
    if not match:
        return None
    try:
        return datetime(
            2000 + int(match["y"]),
            int(match["m"]),
            int(match["d"]),
            int(match["H"]),
            int(match["M"]),
            tzinfo=UTC,
        )
    except ValueError:
        return None


def parse_anpa1312(text: str, received: datetime | None = None) -> list[Draft]:
    header, body, trailer = envelope(text.replace("\r\n", "\n").replace("\r", "\n"))
    service = _SERVICE.search(strip_controls(header))
    body = typewriter_to_typographic(strip_controls(body))
    marked: list[str] = []
    blocks: list[tuple[str, str]] = []
    current: list[str] = []
    for raw in body.split("\n"):
        line = raw.rstrip()
        if not blocks and not current and line.lstrip().startswith("^"):
            marked.append(line.strip().lstrip("^").rstrip("<=").strip())
            continue
        if (raw.startswith("\t") or not line.strip()) and current:
            blocks.append(("p", " ".join(current)))
            current = []
        if line.strip() and not line.strip().startswith("^"):
            current.append(line.strip())
    if current:
        blocks.append(("p", " ".join(current)))
    keyword = marked.pop(0) if marked and marked[0].startswith("BC-") else None
    headline = ""
    byline: str | None = None
    advisories: list[str] = []
    summary: list[str] = []
    expect_title = False
    for line in marked:
        if not line:
            continue
        if expect_title:
            expect_title = False
            if len(line.split()) <= 6:
                continue  # the byline's title: "Associated Press", "AP Sports Writer"
        if _ADVISORY.match(line):
            advisories.append(line)
        elif line.lower().startswith("by "):
            byline, expect_title = line, True
        elif not headline:
            headline = line
        else:
            summary.append(line)
    if not clean_inline(headline) and blocks:
        # a bulletin (APNewsAlert) is one sentence: it is its own headline, without the dateline
        first = blocks[0][1]
        dated = parse_dateline(first)
        headline = dated.rest if dated else first
    if not clean_inline(headline):
        raise ParseError("ANPA 1312 take without a headline line", format="anpa1312")
    version, signal = _version(service, advisories + ([keyword] if keyword else []))
    slug = service["slug"] if service else (keyword.split(",")[0] if keyword else None)
    copy = Copy(
        format="anpa1312",
        headline=headline,
        blocks=blocks,
        byline=byline,
        default_agency="AP",
        summary=" ".join(summary) or None,
        guid=f"anpa:{slug}" if slug else None,
        source_version=version,
        published=_published(trailer),
        signal=signal,
    )
    return [normalise(copy, received)]
