"""Hostile HTML in copy never reaches a feed; XML-forbidden characters are stripped."""

from __future__ import annotations

import json

import feedparser
import pytest

from services.render import sanitize
from services.render.documents import render_document
from services.render.entries import content_html
from services.render.feeds import FeedSpec
from shared.models import BodyBlock, Contributor, Photo
from tests.support.stories import BASE, rich_story

SPEC = FeedSpec(name="all", title="All", description="Every story", base_url=BASE)
HOSTILE = (
    '<script>alert("x")</script><img src=x onerror="alert(1)">'
    '<a href="javascript:alert(2)" onclick="alert(3)">go</a>'
    '<iframe src="https://evil.test/"></iframe><svg onload=alert(4)>'
)
BANNED = ("<script", "onerror", "onclick", "onload", "javascript:", "<iframe", "alert(")


def hostile_story() -> object:
    return rich_story(
        1,
        headline=f"Seals {HOSTILE} return",
        summary=f"Summary {HOSTILE}",
        body=[BodyBlock(text=f"Body {HOSTILE}"), BodyBlock(type="h2", text=HOSTILE)],
        contributors=[Contributor(name=f"Ana {HOSTILE}", role="reporting")],
        photos=[Photo(url="javascript:alert(5)", caption=HOSTILE, credit=HOSTILE)],
        credit_line=HOSTILE,
        correction=HOSTILE,
        links=["javascript:alert(6)"],
        section=f"Science{HOSTILE}",
    )


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_hostile_html_never_reaches_a_feed(fmt: str) -> None:
    body = render_document(SPEC, [hostile_story()])[fmt]  # type: ignore[list-item]
    decoded = body.decode()
    if fmt == "json":
        decoded = json.dumps(json.loads(body), ensure_ascii=False)
    for banned in BANNED:
        assert banned not in decoded.lower(), banned
    if fmt != "json":
        # what a reader sees after unescaping XML and HTML once more
        entry = feedparser.parse(body, sanitize_html=False).entries[0]
        seen = " ".join(
            [entry.title, entry.summary, entry.content[0].value, entry.link]
            + [a.get("name", "") for a in entry.authors]
        ).lower()
        for banned in BANNED:
            assert banned not in seen, banned
        assert entry.link == f"{BASE}/v1/stories/st_1"  # the javascript: link was refused


def test_plain_text_keeps_what_is_not_markup() -> None:
    assert sanitize.plain("Inflation < 2% at AT&T") == "Inflation < 2% at AT&T"
    assert sanitize.plain("x <b>bold</b> y") == "x bold y"
    assert sanitize.plain("a\x00b\x1fc\ufffe\x85d") == "abcd"
    assert sanitize.plain(None) == ""


def test_only_absolute_http_urls_pass() -> None:
    assert sanitize.safe_url("https://a.test/p?q=1") == "https://a.test/p?q=1"
    for bad in (
        "javascript:alert(1)",
        "/relative",
        "data:text/html,x",
        "http://",
        "ftp://a/b",
        "https://a b",
    ):
        assert sanitize.safe_url(bad) is None, bad


def test_clean_html_keeps_the_allowlist() -> None:
    cleaned = sanitize.clean_html(
        '<p class="x" style="color:red">Hi <strong>there</strong> '
        '<a href="https://a.test/">ok</a><a href="/rel">rel</a></p>'
    )
    assert cleaned == (
        '<p>Hi <strong>there</strong> <a href="https://a.test/" rel="noopener noreferrer">ok</a>'
        '<a rel="noopener noreferrer">rel</a></p>'
    )


def test_body_text_is_escaped_not_interpreted() -> None:
    html, _ = content_html(rich_story(1, body=[BodyBlock(text="5 < 6 & 7 > 3")]))
    assert "5 &lt; 6 &amp; 7 &gt; 3" in html
