"""Lines that credit nobody: desk codes, sign-offs, copyright notices, advisories.

AFP closes a story with its desks' codes (``bur-xx/yy``, ``jah/ec/rl``), dpa with a sign-off
(``dpa wsz jln npr``), AP's ANPA takes carry advisories (``^Eds: …<``) and transmission tags, and
pages carry copyright lines. They are not body text and not people.
"""

from __future__ import annotations

import re

DESK_CODE = re.compile(r"^(?:[a-z]{2,5}(?:-[a-z]{2,5})?)(?:\s*/\s*[a-z]{2,5}(?:-[a-z]{2,5})?)+$")
_DPA_SIGNOFF = re.compile(r"^dpa(?:\s+[a-z][a-z0-9]{0,4}){1,8}$")
_COPYRIGHT = re.compile(
    r"^(?:©|\(c\)|copyright)\s*\d{4}|^copyright\b|all rights reserved|alle rechte vorbehalten",
    re.IGNORECASE,
)
_ADVISORY = re.compile(r"^\^|<$|^\(?\^?Eds?:|^AP-[A-Z]{2}-\d\d-\d\d-\d\d|^\(\(.*\)\)$")


def is_signoff(text: str) -> bool:
    """A line that credits nobody: desk codes, sign-offs, copyright notices, advisories."""
    core = text.strip()
    if DESK_CODE.match(core) or _DPA_SIGNOFF.match(core):
        return True
    low = core.lower()
    if (
        "©" in core
        or "(c)" in low
        or "copyright" in low
        or "reserved" in low
        or "vorbehalten" in low
    ) and _COPYRIGHT.search(core):
        return True
    # advisories open with ^, (, Eds or AP-, or close with <: the cheap test before the pattern
    return (core.startswith(("^", "(", "E", "AP-")) or core.endswith("<")) and bool(
        _ADVISORY.search(core)
    )
