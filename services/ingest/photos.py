"""Photo captions and their credits: ``… Moscow, February 2, 2026. Name/Pool via REUTERS``."""

from __future__ import annotations

import re

_AGENCY_WORDS = r"(?:REUTERS|Reuters|AP|AFP|Getty Images|dpa|EPA(?:-EFE)?|Xinhua|Bloomberg|AAP|ANP|PA(?: Media| Wire)?|Pool|Shutterstock|File)"
_CREDIT = re.compile(
    r"^(?:"
    rf"\(AP Photo(?:/[^)]+)?\)"                               # (AP Photo/Name)
    rf"|(?:Photo|Photograph|Picture|Image|Credit)s?(?: by)?:\s*.+"  # Photo: Name/AFP
    rf"|©\s*.+"                                               # © Name/dpa
    rf"|REUTERS(?:\s*/\s*[^.]+)?"                             # REUTERS/Name
    rf"|[^.]{{0,80}}\bvia\s+{_AGENCY_WORDS}"                  # Name/Pool via REUTERS
    rf"|[^./]{{2,60}}\s*/\s*{_AGENCY_WORDS}(?:\s*/\s*[^.]{{1,40}})?"  # Name/AFP, Name/Pool/AFP
    r")$"
)  # fmt: skip


def is_photo_credit(text: str) -> bool:
    text = text.strip()
    return bool(text) and len(text.split()) <= 12 and bool(_CREDIT.match(text))


def split_caption_credit(line: str) -> tuple[str, str] | None:
    """(caption, credit) when ``line`` ends with a photo credit; ``None`` otherwise."""
    line = line.strip()
    if line.endswith(")") and "(" in line:
        start = line.rfind("(")
        credit = line[start:]
        if is_photo_credit(credit):
            return line[:start].strip(), credit
    # the credit is the last sentence: find the last ". " that leaves a credit after it
    for match in reversed(list(re.finditer(r"[.!?]\s+", line))):
        credit = line[match.end() :]
        if is_photo_credit(credit):
            return line[: match.start() + 1].strip(), credit.strip()
    if is_photo_credit(line):
        return "", line
    return None
