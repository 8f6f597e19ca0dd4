"""HTML article pages: main-content extraction (trafilatura), then the plain-text reading."""

from __future__ import annotations

from datetime import datetime

import trafilatura

from services.ingest.draft import Draft
from services.ingest.text import parse_text
from shared.errors import ParseError


def parse_html(html: str, *, received: datetime | None = None) -> Draft:
    """Extract the article from a page (scripts, styles, ads and navigation dropped)."""
    extracted = trafilatura.bare_extraction(
        html, include_comments=False, include_tables=False, with_metadata=True
    )
    if extracted is None:
        raise ParseError("no article text found in the page", format="html")
    data = extracted.as_dict() if hasattr(extracted, "as_dict") else dict(extracted)
    title = (data.get("title") or "").strip()
    text = (data.get("text") or "").strip()
    if not text:
        raise ParseError("no article text found in the page", format="html")
    paragraphs = "\n\n".join(line for line in text.splitlines() if line.strip())
    draft = parse_text(f"{title}\n\n{paragraphs}" if title else paragraphs, received=received)
    site = (data.get("sitename") or "").strip() or None
    return draft.model_copy(update={"format": "html", "publisher": draft.publisher or site})
