"""URL slugs for feed names (sections, agencies, contributors)."""

from __future__ import annotations

import re
import unicodedata


def slug(text: str) -> str:
    """Lower-case ASCII letters, digits and hyphens: ``"Gabriela Baczyńska"`` → ``gabriela-baczynska``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.casefold()).strip("-") or "untitled"
