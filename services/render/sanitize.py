"""What may reach a feed, pure: plain text without markup or XML-forbidden characters, HTML from
an allowlist (nh3), and only absolute http(s) URLs.

Copy comes from agencies and from web pages republishing it; anything in it may be hostile. Every
string a renderer writes passes through one of these three doors, once: entry fields when an
entry is built (``entries.entry_of``), feed-level strings (titles, descriptions, the section,
agency and contributor names feeds are labelled and slugged by) when a feed's spec is made
(``catalog.spec_for``, ``catalog.memberships``, ``entries.feed_slug``).
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import nh3

# XML 1.0 forbids C0 controls except tab, LF and CR, lone surrogates, U+FFFE and U+FFFF; lxml
# refuses to serialise them (a render would abort). C1 controls are legal but never meant in copy.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<!--")
_SPACE = re.compile(r"\s+")

ALLOWED_TAGS = frozenset(
    {"p", "h2", "h3", "strong", "em", "b", "i", "a", "br", "blockquote", "ul", "ol", "li"}
    | {"figure", "figcaption", "img"}
)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt"}}
URL_SCHEMES = frozenset({"http", "https"})
# never kept, not even their text
_DROP_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "embed", "noscript"})


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
            nh3.clean(value, tags=set(), clean_content_tags=set(_DROP_WITH_CONTENT))
        )
        value = strip_controls(value)
    return _SPACE.sub(" ", value).strip()


def _absolute_urls_only(element: str, attribute: str, value: str) -> str | None:
    if attribute in ("href", "src"):
        return safe_url(value)
    return value


def clean_html(value: str) -> str:
    """HTML from the allowlist only: no scripts, event handlers, iframes or unsafe links."""
    return nh3.clean(
        strip_controls(value),
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        attribute_filter=_absolute_urls_only,
        strip_comments=True,
    )


def safe_url(value: str | None) -> str | None:
    """``value`` if it is an absolute http(s) URL a reader can follow safely, else ``None``."""
    if not value:
        return None
    value = value.strip()
    if _FORBIDDEN.search(value) or any(ch.isspace() for ch in value) or '"' in value:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in URL_SCHEMES or not parts.hostname:
        return None
    return value
