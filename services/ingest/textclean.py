"""Clean text the one way every parser uses: Unicode NFC, whitespace collapsed, XML-safe.

Typographic quotes and dashes are kept as the agency wrote them; only invisible noise goes.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SPACE = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
# characters XML 1.0 forbids (C0 controls but tab/newline/CR, C1 controls, surrogates, FFFE/FFFF)
_XML_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]"
)


def clean_inline(text: str) -> str:
    """One line of clean text: NFC, forbidden characters dropped, runs of spaces made one."""
    if (
        text.isprintable()
        and "  " not in text
        and text[:1] != " "
        and text[-1:] != " "
        and (text.isascii() or unicodedata.is_normalized("NFC", text))
    ):
        # no control, odd-space or invisible character (isprintable is false for all of them), no
        # double or edge space, already NFC: most lines are, and need no work (checked in C)
        return text
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    text = _XML_FORBIDDEN.sub("", _ZERO_WIDTH.sub("", text))
    text = text.replace("\r", " ").replace("\n", " ")
    return _SPACE.sub(" ", text).strip()


def clean_lines(text: str) -> list[str]:
    """Split copy into cleaned lines, keeping empty lines (they separate paragraphs)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [clean_inline(line) for line in text.split("\n")]


def paragraphs(text: str) -> list[str]:
    """Blocks of copy separated by blank lines, each joined into one clean line."""
    blocks: list[list[str]] = [[]]
    for line in clean_lines(text):
        if line:
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [" ".join(block) for block in blocks if block]


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """A comparison key: case-folded, accents and punctuation kept, spaces collapsed."""
    return clean_inline(text).casefold()
