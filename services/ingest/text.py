"""Plain-text wire copy, including copy as news sites republish it.

A republished story usually reads, top to bottom: site name, section, headline, the headline again
with the photo caption and its credit, a standfirst, the dateline paragraph, body paragraphs and
subheads, the credit line, then the site's boilerplate ("Help us improve.", "Related Articles",
"Headline - Site Name"). This module finds each of those by its shape and returns one ``Draft``;
anything it cannot place in the story is dropped as boilerplate, never put in the body.

Lines are grouped into paragraphs by blank lines; copy that comes one paragraph a line with no
blank lines (some wires, some pastes) is split into its lines when they read as paragraphs
(``_paragraph_lines``). Between the headline and the dateline, a byline and editor's or
correction notes are handed to the one normaliser (``assemble``), which reads them as it does
for every format: the byline's people are ``reporting``, a correction note is the correction.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from services.ingest import attribution, boilerplate
from services.ingest.assemble import NOTE, Copy, is_byline, normalise
from services.ingest.dateline import ParsedDateline, caption_date, parse_dateline
from services.ingest.draft import Draft
from services.ingest.headlines import split_headline_flags
from services.ingest.photos import split_caption_credit
from services.ingest.textclean import clean_lines, fold
from shared.errors import ParseError
from shared.models import Photo

__all__ = ["parse_text", "split_headline_flags"]

_TERMINAL = tuple(".!?:;,\"”’')…")
_SUFFIX = re.compile(r"^(?P<headline>.{10,}?)\s+[-–—|]\s+(?P<site>[^-–—|]{2,40})$")


def _blocks(text: str) -> list[list[str]]:
    """Lines grouped by blank lines, with boilerplate lines already removed; a block whose lines
    are paragraphs of their own is split into them."""
    blocks: list[list[str]] = [[]]
    for line in clean_lines(text):
        if not line:
            if blocks[-1]:
                blocks.append([])
        elif not boilerplate.is_boilerplate_line(line):
            blocks[-1].append(line)
    out: list[list[str]] = []
    for block in blocks:
        if len(block) == 1:
            out.append(block)  # most blocks: one paragraph on one line
        elif block:
            out += _paragraph_lines(block)
    return out


#: blocks searched for a dated photo caption (the year of a dateline without one)
_CAPTION_SCAN = 14
#: what every photo credit holds besides a slash or ©: a cheap test before split_caption_credit
_CREDIT_WORDS = ("via ", "photo", "picture", "image", "reuters", "credit")


def _is_unit_line(line: str) -> bool:
    """A line that is a whole unit of its own: a credit line, a byline, an editor's note, a photo
    caption with its credit."""
    return bool(
        NOTE.match(line)
        or attribution.looks_like_credit(line)
        or (is_byline(line) and attribution.parse_byline(line))
        or (_has_credit_hint(line) and split_caption_credit(line))
    )


def _has_credit_hint(line: str) -> bool:
    """Could this line end with a photo credit? (A credit has at most twelve words and closes
    its line, so only the tail is searched.)"""
    tail = line[-160:]
    if "/" in tail or "©" in tail:
        return True
    low = tail.lower()
    return any(word in low for word in _CREDIT_WORDS)


def _is_dateline_line(line: str) -> bool:
    """A line that opens a story paragraph with a dateline naming an agency or a date (a bare
    ``U.S. —`` inside wrapped text is no reason to split)."""
    parsed = parse_dateline(line)
    return parsed is not None and bool(parsed.agency or parsed.date)


def _sentences(lines: list[str]) -> bool:
    """Lines that each end a sentence and are long enough to be paragraphs, not wrapped text."""
    return all(line.endswith(_TERMINAL) for line in lines) and (
        sum(len(line.split()) for line in lines) >= 5 * len(lines)
    )


def _paragraph_lines(block: list[str]) -> list[list[str]]:
    """Split a block whose lines are paragraphs; keep a wrapped paragraph whole.

    Lines are paragraphs when a later line opens with a dateline or is a credit line, byline,
    note or caption (each a unit of its own), or when many lines in a row each end a sentence.
    """
    if len(block) < 2:
        return [block]
    segments: list[list[str]] = [[]]
    marked = False
    for index, line in enumerate(block):
        unit = index > 0 and _is_unit_line(line)
        if index > 0 and (unit or _is_dateline_line(line)):
            marked = True
            if segments[-1]:
                segments.append([])
        segments[-1].append(line)
        if unit and index + 1 < len(block) and not attribution.looks_like_credit(line):
            segments.append([])  # a credit line may wrap onto the next line; the others do not
    out: list[list[str]] = []
    for segment in filter(None, segments):
        head, tail = segment[:1], segment[1:]
        if len(segment) >= 2 and (marked or len(segment) >= 3) and _sentences(segment):
            out += [[line] for line in segment]
        elif len(tail) >= 3 and _sentences(tail):
            out += [head, *([line] for line in tail)]  # a headline over paragraph lines
        else:
            out.append(segment)
    return out


def _is_subhead(lines: list[str]) -> bool:
    if len(lines) != 1:
        return False
    line = lines[0]
    words = line.split()
    return 0 < len(words) <= 12 and not line.endswith(_TERMINAL) and line[:1].isupper()


def _site_suffix(lines: list[str]) -> tuple[str, str, str] | None:
    """A trailing ``Headline - Site Name`` line whose headline stands earlier in the copy.

    Returns (headline, site, the line itself).
    """
    for line in reversed(lines[-6:]):
        match = _SUFFIX.match(line)
        if not match:
            continue
        target = fold(match["headline"])
        # compare only lines of about the headline's length (folding every line is the cost)
        if any(
            abs(len(earlier) - len(target)) <= 4 and fold(earlier) == target
            for earlier in lines[:-1]
        ):
            return match["headline"].strip(), match["site"].strip(), line
    return None


def parse_text(text: str, *, received: datetime | None = None) -> Draft:
    """Parse plain-text copy into a draft story."""
    blocks = _blocks(text)
    if not blocks:
        raise ParseError("the copy holds no text", format="text")
    flat = [line for block in blocks for line in block]
    suffix = _site_suffix(flat)
    site = suffix[1] if suffix else None
    if suffix:
        # drop the "Headline - Site" line (normally the last one)
        blocks = [[ln for ln in block if ln != suffix[2]] for block in blocks]
        blocks = [block for block in blocks if block]

    reference = received.date() if received else None
    for block in blocks[:_CAPTION_SCAN]:  # a dated caption sits above the story
        for line in block:
            if dated := caption_date(line):
                reference = dated
                break
        else:
            continue
        break

    dateline_index, parsed_dateline = _find_dateline(blocks, reference)
    front = blocks[:dateline_index] if parsed_dateline else blocks[:1]
    rest = blocks[dateline_index:] if parsed_dateline else blocks[1:]
    front_lines = [line for block in front for line in block]

    headline, publisher, section, standfirst, photos, notes = _read_front(front_lines, suffix)
    if not split_headline_flags(headline)[0]:
        raise ParseError("no headline found in the copy", format="text", line=1)

    body: list[tuple[str, str]] = [("p", note) for note in notes]
    body += [
        ("h2" if index > 0 and _is_subhead(block) else "p", " ".join(block))
        for index, block in enumerate(rest)
    ]
    copy = Copy(
        format="text",
        headline=headline,
        blocks=body,
        publisher=publisher or site,
        section=section,
        summary=standfirst,
        photos=photos,
        page=True,
    )
    return normalise(copy, received)


def _find_dateline(
    blocks: list[list[str]], reference: date | None
) -> tuple[int, ParsedDateline | None]:
    for index, block in enumerate(blocks):
        parsed = parse_dateline(" ".join(block), reference)
        if parsed is not None:
            return index, parsed
    return 0, None


def _read_front(
    lines: list[str], suffix: tuple[str, str, str] | None
) -> tuple[str, str | None, str | None, str | None, list[Photo], list[str]]:
    """Headline, publisher, section, standfirst, photos, and the byline and notes (for the
    normaliser to read) from the lines above the dateline."""
    if not lines:
        return "", None, None, None, [], []
    folded = [fold(line) for line in lines]
    headline_at: int | None = None
    if suffix:
        target = fold(suffix[0])
        headline_at = next((i for i, f in enumerate(folded) if f == target), None)
    if headline_at is None:
        repeated = [i for i, f in enumerate(folded) if folded.count(f) > 1 and len(f.split()) > 2]
        headline_at = repeated[0] if repeated else None
    if headline_at is None:
        # the first line that reads like a headline: several words, no final full stop
        headline_at = next(
            (
                i
                for i, line in enumerate(lines)
                if len(line.split()) >= 4 and not line.endswith(".")
            ),
            0,
        )
    headline = lines[headline_at]
    above = lines[:headline_at]
    publisher = section = None
    site = suffix[1] if suffix else None
    short = [line for line in above if len(line.split()) <= 5]
    for line in short:
        if (site and fold(line) == fold(site)) or (
            publisher is None and site is None and len(short) >= 2 and line is short[0]
        ):
            publisher = line
        elif section is None:
            section = line
    photos: list[Photo] = []
    standfirst_parts: list[str] = []
    notes: list[str] = []
    for line in lines[headline_at + 1 :]:
        if fold(line) == fold(headline):
            continue
        if NOTE.match(line) or (is_byline(line) and attribution.parse_byline(line)):
            notes.append(line)  # "(Adds comment)", "(Corrects name …)", "By Alex Lawler"
            continue
        split = split_caption_credit(line) if _has_credit_hint(line) else None
        if split is not None:
            photos.append(Photo(caption=split[0], credit=split[1]))
        else:
            standfirst_parts.append(line)
    standfirst = " ".join(standfirst_parts) or None
    return headline, publisher, section, standfirst, photos, notes
