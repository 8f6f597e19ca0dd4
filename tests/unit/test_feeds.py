"""Rendering is pure and deterministic, and feedparser recovers everything we write, per format."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import feedparser
import pytest
from lxml import etree

from services.render.documents import render_document
from services.render.entries import content_html, entry_of, story_urn
from services.render.feeds import FeedSpec, Page, render_atom
from shared.models import BodyBlock
from tests.support.stories import BASE, T0, rich_story

XML_FORMATS = ("rss", "atom")
SPEC = FeedSpec(name="all", title="All", description="Every story", base_url=BASE)


def parsed(fmt: str, stories: list[Any], page: Page | None = None) -> Any:
    body = render_document(SPEC, stories, page or Page())[fmt]
    result = feedparser.parse(body)
    assert result.bozo == 0, result.get("bozo_exception")
    return result


@pytest.mark.parametrize("fmt", XML_FORMATS)
def test_feedparser_recovers_every_field(fmt: str) -> None:
    stories = [rich_story(2, updated=T0 + timedelta(hours=3), version=3), rich_story(1)]
    feed = parsed(fmt, stories)
    assert [e.id for e in feed.entries] == [story_urn("st_2"), story_urn("st_1")]
    entry = feed.entries[0]
    assert entry.title == "Harbour Seals Return To Estuary 2"
    assert entry.link == f"{BASE}/v1/stories/st_2"
    assert entry.published_parsed[:5] == (2026, 3, 4, 12, 2)
    assert entry.updated_parsed[:5] == (2026, 3, 4, 15, 0)
    assert {t.term for t in entry.tags} == {"Science", "Reuters"}
    names = [a["name"] for a in entry.authors]
    if fmt == "rss":  # one dc:creator per person, every role
        assert names == ["Ana Lima", "Bo Chen", "Cy Dore", "Di Ewa"]
    else:  # reporting and writing are authors; the other roles contributors
        assert names == ["Ana Lima", "Bo Chen"]
        assert [c["name"] for c in entry.contributors] == ["Cy Dore", "Di Ewa"]
    credits = [c["content"] for c in entry.media_credit]
    assert credits == ["Eva Holm/REUTERS"]  # the photo with a URL, in Media RSS
    # the photo known only by caption and credit: a captioned figure in the body
    assert "Volunteers count seals. (Ola Berg/NTB via REUTERS)" in entry.content[0].value
    assert entry.media_content[0]["url"] == "https://images.test/seal-2.jpg"
    assert "OSLO, Mar 4 (Reuters)" in entry.content[0].value


def test_json_feed_carries_every_field() -> None:
    """feedparser 6.0 (the newest release) has no JSON Feed reader: read it as JSON."""
    stories = [rich_story(2, updated=T0 + timedelta(hours=3), version=3), rich_story(1)]
    feed = json.loads(render_document(SPEC, stories)["json"])
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert [i["id"] for i in feed["items"]] == [story_urn("st_2"), story_urn("st_1")]
    item = feed["items"][0]
    assert item["title"] == "Harbour Seals Return To Estuary 2"
    assert item["url"] == f"{BASE}/v1/stories/st_2"
    assert item["date_published"] == "2026-03-04T12:02:00+00:00"
    assert item["date_modified"] == "2026-03-04T15:00:00+00:00"
    assert item["tags"] == ["Science", "Reuters"]
    assert [a["name"] for a in item["authors"]] == ["Ana Lima", "Bo Chen"]
    assert "OSLO, Mar 4 (Reuters)" in item["content_html"]


def test_json_feed_carries_roles_photo_credits_and_versions() -> None:
    body = render_document(SPEC, [rich_story(1, version=2)])["json"]
    item = json.loads(body)["items"][0]
    extension = item["_syndicate"]
    assert [(c["name"], c["role"]) for c in extension["contributors"]] == [
        ("Ana Lima", "reporting"),
        ("Bo Chen", "writing"),
        ("Cy Dore", "editing"),
        ("Di Ewa", "photography"),
    ]
    assert [p["credit"] for p in extension["photos"]] == [
        "Eva Holm/REUTERS",
        "Ola Berg/NTB via REUTERS",
    ]
    assert extension["version"] == 2
    assert item["image"] == "https://images.test/seal-1.jpg"
    assert item["attachments"] == [
        {
            "url": "https://images.test/seal-1.jpg",
            "mime_type": "image/jpeg",
            "title": "A seal rests on a sandbank.",
        }
    ]


def test_renders_are_byte_identical_and_dated_by_the_newest_entry() -> None:
    stories = [rich_story(3), rich_story(2, updated=T0 + timedelta(hours=5))]
    first = render_document(SPEC, stories)
    assert first == render_document(SPEC, stories)
    assert feedparser.parse(first["atom"]).feed.updated_parsed[:4] == (2026, 3, 4, 17)
    assert "Wed, 04 Mar 2026 17:00:00" in feedparser.parse(first["rss"]).feed.updated
    assert json.loads(first["json"])["_syndicate"]["updated"].startswith("2026-03-04T17:00")


def test_an_update_moves_updated_but_keeps_id_and_published() -> None:
    before = render_document(SPEC, [rich_story(1)])
    corrected = rich_story(
        1, version=2, updated=T0 + timedelta(hours=2), correction="Corrects the count."
    )
    after = render_document(SPEC, [corrected])
    for fmt in XML_FORMATS:
        old, new = feedparser.parse(before[fmt]).entries[0], feedparser.parse(after[fmt]).entries[0]
        assert old.id == new.id
        assert old.published_parsed == new.published_parsed
        assert new.updated_parsed > old.updated_parsed
    assert b"<dcterms:modified>2026-03-04T14:00:00+00:00</dcterms:modified>" in after["rss"]
    assert json.loads(after["json"])["items"][0]["date_modified"] == "2026-03-04T14:00:00+00:00"
    assert (
        "Correction: Corrects the count."
        in feedparser.parse(after["atom"]).entries[0].content[0].value
    )


def test_rss_summary_in_description_then_full_body_in_content_encoded() -> None:
    item = etree.fromstring(render_document(SPEC, [rich_story(1)])["rss"]).find("channel/item")
    assert item is not None
    children = [child.tag for child in item]
    description = children.index("description")
    encoded = children.index("{http://purl.org/rss/1.0/modules/content/}encoded")
    assert description < encoded
    assert item.findtext("description") == "Survey counts more seals than last year (1)."
    assert "The colony had shrunk for years." in (
        item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded") or ""
    )


def test_body_leads_with_the_dateline_and_does_not_repeat_the_headline() -> None:
    story = rich_story(
        1,
        body=[
            BodyBlock(text="Harbour Seals Return To Estuary 1"),
            BodyBlock(text="Volunteers counted seals."),
        ],
    )
    html, _ = content_html(story)
    assert html.count("Harbour Seals Return To Estuary 1") == 0
    assert re.match(r"<p><strong>OSLO, Mar 4 \(Reuters\)</strong> — Volunteers counted", html)


def test_a_story_without_authors_is_by_its_agency() -> None:
    entry = entry_of(rich_story(1, contributors=[]), BASE)
    assert [p.name for p in entry.bylines] == ["Reuters"]
    atom = feedparser.parse(render_atom(SPEC, [entry]))
    assert [a["name"] for a in atom.entries[0].authors] == ["Reuters"]


@pytest.mark.parametrize("fmt", XML_FORMATS)
def test_empty_feed_is_valid_and_stable(fmt: str) -> None:
    assert parsed(fmt, []).entries == []
    assert render_document(SPEC, []) == render_document(SPEC, [])
    assert json.loads(render_document(SPEC, [])["json"])["items"] == []


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_spliced_entries_give_the_bytes_of_the_whole_tree(fmt: str) -> None:
    """Entries are written once and spliced into the head; the document must be byte for byte
    what writing the whole tree gives, on subscription documents, archive pages and pages with
    tombstones, empty or full."""
    from services.render import feeds
    from services.render.entries import Tombstone

    entries = [entry_of(rich_story(n), BASE) for n in range(30, 0, -1)]
    entries[3] = entry_of(rich_story(4, body=[BodyBlock(text="Fish & <chips> ]]> here")]), BASE)
    gone = Tombstone(ref=story_urn("st_gone"), when=T0, link=f"{BASE}/x", comment="Withdrawn")
    pages = [
        Page(),
        Page(label="2026-11-01", prev_archive="2026-10-01", next_archive="2026-12-01"),
        Page(prev_archive="2026-10-01", tombstones=(gone,)),
    ]
    for page in pages:
        for chosen in (entries, entries[:1], []):
            fg = feeds._generator(SPEC, page, chosen, fmt)
            root, doc = fg._create_rss() if fmt == "rss" else fg._create_atom()
            whole = feeds._document_by_tree(root, doc, chosen, fmt)
            assert feeds._document(SPEC, page, chosen, fmt) == whole
            etree.fromstring(whole)  # and well-formed
    assert b"deleted-entry" in feeds._document(SPEC, pages[2], entries, "atom")
