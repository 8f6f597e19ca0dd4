"""What IPTC 7901 and ANPA 1312 share: transmission control characters and typewriter habits.

Both wrap a story in SOH/STX/ETX/EOT (``\\x01 \\x02 \\x03 \\x04``), pad with SYN and DEL, and
write dashes as `` _ `` (ANPA) and quotes as ````…''`` (ANPA).
"""

from __future__ import annotations

import re

SOH, STX, ETX, EOT, SYN = "\x01", "\x02", "\x03", "\x04", "\x16"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: ANPA's underscore dash, between spaces or at a line end
_ANPA_DASH = re.compile(r"(?<=\s)_(?=\s|$)")


def strip_controls(text: str) -> str:
    """Control characters out (tab, newline and carriage return stay)."""
    return _CONTROL.sub("", text)


def typewriter_to_typographic(text: str) -> str:
    """``Don't ``go'' _ now`` → ``Don't “go” — now``."""
    text = text.replace("``", "“").replace("''", "”")
    return _ANPA_DASH.sub("—", text)


def envelope(text: str) -> tuple[str, str, str]:
    """(header before STX, text between STX and ETX, trailer after ETX); missing parts are ''."""
    start = text.find(STX)
    end = text.find(ETX, start + 1 if start >= 0 else 0)
    header = text[:start] if start >= 0 else ""
    body = text[start + 1 : end if end >= 0 else len(text)] if start >= 0 else text
    trailer = text[end + 1 :] if end >= 0 else ""
    return header, body, trailer


def looks_like_teletype(text: str) -> bool:
    head = text[:400]
    return STX in head or (head.startswith((SOH, SYN)) and ETX in text)


def looks_like_anpa(text: str) -> bool:
    head = text[:300]
    return head.startswith(SYN) or "\x13\x11" in head or bool(re.search(r"\x02\^?BC-", head))
