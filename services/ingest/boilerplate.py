"""The lines news sites wrap around a story: prompts, promos, navigation. Never story text."""

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
_PREFIX = re.compile(
    r"^(?:sign up for|sign up to|subscribe to|subscribe for|follow us on|share on|"
    r"read more:|read more at|related:|see also:|also read:|click here to|download our app|"
    r"get the latest|join our|listen to this article|for more news|advertisement\b)",
    re.IGNORECASE,
)


def is_boilerplate_line(line: str) -> bool:
    """Is this whole line site furniture rather than story text?"""
    if len(line) <= 60 and fold(line).rstrip(".!:…").strip() in _EXACT:
        return True  # whole-line furniture is short; only prompts run longer
    return bool(_PREFIX.match(line.strip()))
