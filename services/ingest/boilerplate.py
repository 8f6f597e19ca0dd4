"""The lines news sites wrap around a story: prompts, promos, navigation. Never story text.

Only **whole lines** are furniture: a short line that is nothing but a label ("Advertisement",
"Read more", "Trending"), or a known prompt phrasing ("Sign up for our newsletter", "Share on X",
"Related: <a headline>"). A sentence that merely starts with such a word ("Advertisement spending
rose 30%…", "Share prices fell…", "Sign up for the loyalty programme rose…") is story text and
stays: prompts are short, address the reader, and never report (no "said", "added").
"""

from __future__ import annotations

import re

from services.ingest.textclean import fold

#: whole lines (compared case-folded, without trailing punctuation)
_EXACT = frozenset(
    {
        "help us improve", "related articles", "related", "related stories", "related coverage",
        "trending", "trending now", "advertisement", "advertisements", "ad", "read more",
        "read more below", "share", "share this", "share this article", "share this story",
        "share on facebook", "share on twitter", "share on x", "email", "print", "comments",
        "most read", "most popular", "recommended", "recommended for you", "you may also like",
        "more from", "more stories", "continue reading", "skip advertisement",
        "story continues below advertisement", "story continues below", "follow us",
        "sign up", "subscribe", "newsletter", "top stories", "latest news", "watch",
        "click here", "back to top", "see also", "also read", "don't miss", "editor's picks",
        "our standards: the thomson reuters trust principles",
    }
)  # fmt: skip
#: prompts that address the reader, in the phrasings sites use
_PROMPT = re.compile(
    r"^(?:"
    r"(?:sign\s+up|subscribe|register)\b.{0,60}?\b(?:newsletters?|alerts?|briefings?|digest|"
    r"inbox|our|free|here|today|now)\b"
    r"|follow\s+us\b"
    r"|share\s+(?:this|on|via|with)\b"
    r"|read\s+more\s+(?:at|on|from)\b"
    r"|click\s+here\b"
    r"|download\s+(?:our|the)\s+(?:[\w-]+\s+){0,2}app\b"
    r"|get\s+the\s+latest\b"
    r"|join\s+(?:our|us)\b"
    r"|listen\s+to\s+this\s+(?:article|story)\b"
    r"|for\s+more\s+news\b"
    r")",
    re.IGNORECASE,
)
#: a promo link: a label, then another story's headline ("Related: Oil tops $100")
_PROMO = re.compile(
    r"^(?:read\s+more|related|see\s+also|also\s+read|more\s+on\s+this|recommended|watch)\s*[:|>»–—-]\s*",
    re.IGNORECASE,
)
#: prompts never report: a line that says who said something is a sentence of the story
_REPORTS = re.compile(r"\b(?:said|says|added|adds|told|according\s+to)\b", re.IGNORECASE)
_LONGEST_PROMPT_WORDS = 20
#: the first words of every prompt and promo above
_OPENERS = re.compile(
    r"(?:sign|subscribe|register|follow|share|read|click|download|get|join|listen|for|related|"
    r"see|also|more|recommended|watch)\b",
    re.IGNORECASE,
)


def is_boilerplate_line(line: str) -> bool:
    """Is this whole line site furniture rather than story text?"""
    stripped = line.strip()
    if len(stripped) <= 60 and fold(stripped).rstrip(".!:…").strip() in _EXACT:
        return True  # whole-line furniture is short
    if not _OPENERS.match(stripped):
        return False  # the cheap test that clears almost every story line
    if len(stripped.split()) > _LONGEST_PROMPT_WORDS:
        return False
    if _PROMPT.match(stripped):
        return not _REPORTS.search(stripped)
    if promo := _PROMO.match(stripped):
        # "Related: Oil tops $100" (a headline: capital first, no final full stop), not
        # "Related: the company said sales fell." (a sentence)
        headline = stripped[promo.end() :]
        return (
            bool(headline)
            and not headline[:1].islower()
            and not headline.endswith(".")
            and not _REPORTS.search(headline)
        )
    return False
