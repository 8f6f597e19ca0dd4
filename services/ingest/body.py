"""Body paragraphs and subheads out of markup (NITF ``body.content``, XHTML, ninjs ``body_html``).

Each block-level element becomes one block of clean text; headings become subheads. What is inside
a block (links, emphasis, line breaks) is flattened into its text. Figures and media are left to the
format's own photo reading.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml import html as lxml_html

from services.ingest.textclean import clean_inline
from services.ingest.xmlsafe import local, text_of

Block = tuple[str, str]
#: preformatted copy inside one element (Reuters SNI text): an indented line starts a paragraph
_INDENTED = re.compile(r"\n\s*\n|\n(?=[ \t]{2,}\S)")  # ("p" | "h2", text)

_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "hl2"})
_PARAGRAPHS = frozenset({"p", "li", "blockquote", "pre", "dd", "dt"})
_SKIPPED = frozenset(
    {"script", "style", "figure", "figcaption", "media", "img", "table", "object", "iframe",
     "noscript", "head", "title", "caption", "header", "footer", "nav", "aside", "form", "button"}
)  # fmt: skip


def blocks_from_element(root: etree._Element) -> list[Block]:
    """Blocks of ``root`` in document order; loose text between blocks is a paragraph too."""
    blocks: list[Block] = []

    def add(kind: str, text: str) -> None:
        cleaned = clean_inline(text)
        if cleaned:
            blocks.append((kind, cleaned))

    def walk(element: etree._Element) -> None:
        name = local(element.tag).lower()
        if name in _SKIPPED:
            return
        if name in _HEADINGS:
            add("h2", text_of(element))
            return
        if name in _PARAGRAPHS:
            for part in _INDENTED.split(text_of(element)):
                add("p", part)
            return
        if element.text:
            add("p", element.text)
        for sub in element:
            walk(sub)
            if sub.tail:
                add("p", sub.tail)

    walk(root)
    return blocks


def blocks_from_html(markup: str) -> list[Block]:
    """Blocks of an HTML fragment (ninjs ``body_html``, RSS ``content:encoded``)."""
    if not markup.strip():
        return []
    if "<" not in markup:
        return [("p", clean_inline(part)) for part in markup.split("\n\n") if clean_inline(part)]
    try:
        fragment = lxml_html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return []
    return blocks_from_element(fragment)
