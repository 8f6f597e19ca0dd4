"""What leaves ingest is plain text and http(s) links: markup in copy never reaches a story."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest.formats import ParseContext, parse
from services.ingest.markup import http_url, sanitise, text_only
from shared.errors import ParseError

TAG_LIKE = re.compile(r"<[A-Za-z!/?][^<>]*>")  # a whole tag (a lone "a<b" is text)
HOSTILE = [
    "<script>alert(1)</script>",
    "<iframe src='https://evil.test/'></iframe>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<a href='javascript:alert(1)'>x</a>",
    "<style>body{}</style>",
    "<!-- <script>x</script> -->",
    "&lt;script&gt;alert(1)&lt;/script&gt; <b>b</b>",
    "<scr<script>ipt>alert(1)</script>",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_text_only_leaves_no_markup(hostile: str) -> None:
    cleaned = text_only(f"Before {hostile} after")
    assert not TAG_LIKE.search(cleaned), cleaned
    for word in ("script", "iframe", "onerror", "onload", "javascript:", "<style"):
        assert word not in cleaned.lower(), (hostile, cleaned)
    assert cleaned.startswith("Before") and cleaned.endswith("after")


@pytest.mark.parametrize(
    "text", ["Inflation < 2% and > 1%", "AT&T buys a rival", "a<b", "Rates: 3 <= x", "<3 love"]
)
def test_text_that_only_holds_a_less_than_sign_is_untouched(text: str) -> None:
    assert text_only(text) == text


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://example.test/a?b=c", True),
        ("http://example.test/", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("//example.test/x", False),
        ("https://exa mple.test/", False),
        ("https://example.test/\r\nX-Injected: 1", False),
        ("", False),
    ],
)
def test_http_url(url: str, kept: bool) -> None:
    assert (http_url(url) == url) is kept


NINJS = """{{"uri": "urn:test:1", "type": "text", "headline": {headline},
 "body_html": {body}, "byline": {byline}, "description_text": {summary},
 "associations": {{"p": {{"type": "picture", "uri": "urn:p",
   "renditions": {{"r": {{"href": "javascript:alert(1)"}}}},
   "description_text": "<img src=x onerror=alert(1)>caption", "byline": "<b>Eva Holm</b>"}}}}}}"""


def test_a_hostile_ninjs_story_comes_out_as_plain_text() -> None:
    import json

    document = NINJS.format(
        headline=json.dumps("Seals <script>alert(1)</script>return"),
        body=json.dumps(
            "<p>OSLO (Reuters) - Seals <iframe src='https://evil.test'></iframe>are back.</p>"
            "<p onclick='alert(2)'>More <a href='javascript:alert(3)'>text</a>.</p>"
        ),
        byline=json.dumps("By <script>x</script>Ana Lima"),
        summary=json.dumps("<style>p{}</style>Seal summary"),
    )
    [draft] = parse(document.encode(), ParseContext(content_type="application/ninjs+json"))
    dumped = draft.model_dump_json().lower()
    for word in ("<script", "<iframe", "onerror", "onclick", "javascript:", "<style", "<img"):
        assert word not in dumped, word
    assert draft.headline == "Seals return"
    assert all(photo.url is None for photo in draft.photos)


def test_a_headline_of_nothing_but_markup_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="markup"):
        parse(
            b"<script>alert(1)</script>\n\nOSLO (Reuters) - Body text.",
            ParseContext(content_type="text/x-wire"),
        )


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([*HOSTILE, "text ", "<", ">", "&lt;", "&gt;", "&amp;", "<p>"])))
def test_text_only_reaches_a_fixed_point_without_tags(parts: list[str]) -> None:
    cleaned = text_only("".join(parts))
    assert text_only(cleaned) == cleaned
    assert not TAG_LIKE.search(cleaned), cleaned


def test_a_clean_draft_is_returned_as_it_is() -> None:
    [draft] = parse(b"Clean headline\n\nOSLO (Reuters) - Body.", ParseContext())
    assert sanitise(draft) is draft
