"""What may reach a feed, pure: plain text without markup or XML-forbidden characters, HTML from
an allowlist (nh3), and only absolute http(s) URLs.

Copy comes from agencies and from web pages republishing it; anything in it may be hostile. Every
string a renderer writes passes through one of these three doors, once: entry fields when an
entry is built (``entries.entry_of``), feed-level strings (titles, descriptions, the section,
agency and contributor names feeds are labelled and slugged by) when a feed's spec is made
(``catalog.spec_for``, ``catalog.memberships``, ``entries.feed_slug``).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import nh3

from shared.plaintext import DROP_WITH_CONTENT, plain, strip_controls

__all__ = ["ALLOWED_TAGS", "clean_html", "plain", "safe_url", "strip_controls"]

_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<!--")

ALLOWED_TAGS = frozenset(
    {"p", "h2", "h3", "strong", "em", "b", "i", "a", "br", "blockquote", "ul", "ol", "li"}
    | {"figure", "figcaption", "img"}
)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt"}}
URL_SCHEMES = frozenset({"http", "https"})
_DROP_WITH_CONTENT = DROP_WITH_CONTENT


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
    if strip_controls(value) != value or any(ch.isspace() for ch in value) or '"' in value:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in URL_SCHEMES or not parts.hostname:
        return None
    return value
