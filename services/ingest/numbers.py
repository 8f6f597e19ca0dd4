"""Version numbers as the formats write them (``du-key@version``, ``@version``, ``RevisionId``,
ninjs ``version``): ASCII digits only.

``str.isdigit`` is true for ``²`` or ``١`` and ``int`` then refuses them or reads them as
something no agency meant; a number too long to be a version (past 18 digits) is no version
either. Anything else is ``None``, never an exception.
"""

from __future__ import annotations

#: longer than this is no version number (and ``int`` of 4,300+ digits raises in Python 3.11)
MAX_DIGITS = 18


def version_number(value: object) -> int | None:
    """``"3"`` → 3; ``"²"``, ``"3a"``, ``""``, ``"1e9"``, 19+ digits, non-strings → ``None``.

    A JSON integer (ninjs ``"version": 3``) counts too; a bool or a negative number does not.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value < 10**MAX_DIGITS else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS:
        return int(text)
    return None
