"""Plain text out of untrusted copy: no markup, no characters XML cannot carry.

Shared because render (feed titles, entry fields, feed slugs) and publish (webhook filters on
named feeds) must compare and show the same cleaned value.
"""

from __future__ import annotations

import html
import re

import nh3

# XML 1.0 forbids C0 controls except tab, LF and CR, lone surrogates, U+FFFE and U+FFFF; lxml
# refuses to serialise them (a render would abort). C1 controls are legal but never meant in copy.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<!--")
_SPACE = re.compile(r"\s+")
#: never kept, not even their text
DROP_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "embed", "noscript"})


def strip_controls(value: str) -> str:
    """``value`` without the characters XML cannot carry."""
    return _FORBIDDEN.sub("", value)


def plain(value: str | None) -> str:
    """Plain text for a text field (title, summary, name, caption): no markup, no controls.

    Text that holds something tag-like is run through nh3 with no tag allowed (scripts and their
    content go), then unescaped back to text; ``Inflation < 2%`` and ``AT&T`` pass unchanged.
    """
    if not value:
        return ""
    value = strip_controls(value)
    if _TAG.search(value):
        value = html.unescape(
            nh3.clean(value, tags=set(), clean_content_tags=set(DROP_WITH_CONTENT))
        )
        value = strip_controls(value)
    return _SPACE.sub(" ", value).strip()
