"""Rendering is pure and deterministic; feedparser reads what we write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import feedparser

from services.render.feeds import FeedSpec, content_html, render_atom, render_rss, story_urn
from shared.models import BodyBlock, Contributor, Dateline, Story

SPEC = FeedSpec(name="all", title="All", description="Every story", base_url="http://feeds.test")
T0 = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def story(n: int, **changes: object) -> Story:
    base = Story(
        id=f"st_{n}",
        version=1,
        headline=f"Headline number {n} <b>bold</b>",
        summary="A summary.",
        dateline=Dateline(place="OSLO", date="2026-03-04", agency="Reuters"),
        body=[BodyBlock(text="First para & more."), BodyBlock(type="h2", text="Sub")],
        contributors=[
            Contributor(name="Ana Lima", role="reporting"),
            Contributor(name="Cy Dore", role="editing"),
        ],
        credit_line="Reporting by Ana Lima; Editing by Cy Dore",
        section="Science",
        agency="Reuters",
        first_published=T0 + timedelta(minutes=n),
        updated=T0 + timedelta(minutes=n),
        content_hash="x",
    )
    return base.model_copy(update=changes)


def test_rss_is_read_back_by_feedparser() -> None:
    parsed = feedparser.parse(render_rss(SPEC, [story(2), story(1)]))
    assert parsed.bozo == 0
    assert [e.title for e in parsed.entries] == [
        "Headline number 2 <b>bold</b>",
        "Headline number 1 <b>bold</b>",
    ]
    entry = parsed.entries[0]
    assert entry.id == story_urn("st_2")
    assert entry.guidislink is False
    assert [a["name"] for a in entry.authors] == ["Ana Lima", "Cy Dore"]
    assert {t.term for t in entry.tags} == {"Science", "Reuters"}
    assert "OSLO, Mar 4 (Reuters)" in entry.content[0].value
    assert parsed.feed.link == "http://feeds.test/feeds"
    links = {(link.rel, link.href) for link in parsed.feed.links}
    assert ("self", "http://feeds.test/feeds/all.rss") in links
    assert ("hub", "http://feeds.test/websub") in links


def test_atom_is_read_back_by_feedparser() -> None:
    parsed = feedparser.parse(render_atom(SPEC, [story(1)]))
    assert parsed.bozo == 0
    entry = parsed.entries[0]
    assert entry.id == story_urn("st_1")
    assert [a["name"] for a in entry.authors] == ["Ana Lima"]
    assert [c["name"] for c in entry.contributors] == ["Cy Dore"]
    assert entry.published_parsed[:5] == (2026, 3, 4, 12, 1)


def test_renders_are_byte_identical_and_dated_by_the_newest_entry() -> None:
    stories = [story(3), story(2, updated=T0 + timedelta(hours=5))]
    assert render_rss(SPEC, stories) == render_rss(SPEC, stories)
    assert render_atom(SPEC, stories) == render_atom(SPEC, stories)
    parsed = feedparser.parse(render_atom(SPEC, stories))
    assert parsed.feed.updated_parsed[:4] == (2026, 3, 4, 17)


def test_empty_feed_is_valid_and_stable() -> None:
    assert feedparser.parse(render_rss(SPEC, [])).bozo == 0
    assert render_atom(SPEC, []) == render_atom(SPEC, [])


def test_content_html_escapes_copy() -> None:
    html = content_html(story(1, body=[BodyBlock(text="<script>alert(1)</script>")]))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
