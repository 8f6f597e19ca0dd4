"""One test per feedgen 1.0.0 trap that would make a naive feed invalid or unstable."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, tzinfo

import feedgen.entry
import feedgen.feed
import feedparser
import pytest
from feedgen.feed import FeedGenerator
from lxml import etree

from services.render.documents import render_document
from services.render.entries import entry_of
from services.render.feeds import FeedSpec, Page, render_atom, render_rss
from shared.models import BodyBlock, Contributor, Photo
from tests.support.stories import BASE, T0, rich_story

SPEC = FeedSpec(name="all", title="All", description="Every story", base_url=BASE)
ATOM = "{http://www.w3.org/2005/Atom}"
MEDIA = "{http://search.yahoo.com/mrss/}"


def test_atom_entry_links_keep_rel_and_type_with_two_links() -> None:
    # naive feedgen: the second link of an entry makes both lose rel and type
    fg = FeedGenerator()
    fg.id("x")
    fg.title("x")
    fg.updated(T0)
    fe = fg.add_entry()
    fe.id("e")
    fe.title("e")
    fe.updated(T0)
    fe.content("c")
    fe.link(href="https://a.test/", rel="alternate", type="text/html")
    fe.link(href="https://a.test/p.jpg", rel="enclosure", type="image/jpeg")
    naive = etree.fromstring(fg.atom_str()).find(f"{ATOM}entry")
    assert naive is not None
    assert [link.get("rel") for link in naive.findall(f"{ATOM}link")] == [None, None]

    ours = etree.fromstring(render_atom(SPEC, [entry_of(rich_story(1), BASE)]))
    links = ours.findall(f"{ATOM}entry/{ATOM}link")
    assert [(link.get("rel"), link.get("type")) for link in links] == [
        ("alternate", None),
        ("enclosure", "image/jpeg"),
    ]


def test_rss_channel_link_is_the_site_whatever_links_the_feed_has() -> None:
    page = Page(prev_archive="2026-03-01-1")
    channel = etree.fromstring(render_rss(SPEC, [], page)).find("channel")
    assert channel is not None
    assert channel.findtext("link") == f"{BASE}/feeds"
    rels = {link.get("rel") for link in channel.findall(f"{ATOM}link")}
    assert rels == {"self", "hub", "prev-archive"}


class _IsDatetime(type):
    def __instancecheck__(cls, instance: object) -> bool:
        return isinstance(instance, datetime)


class _LaterClock(metaclass=_IsDatetime):
    """feedgen's ``datetime``, with its clock moved on: what ``updated`` would default to."""

    @staticmethod
    def now(tz: tzinfo | None = None) -> datetime:
        return datetime(2031, 1, 1, tzinfo=tz or UTC)


def test_updated_never_comes_from_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = [entry_of(rich_story(1), BASE)]
    first = render_atom(SPEC, entries), render_rss(SPEC, entries)
    monkeypatch.setattr(feedgen.entry, "datetime", _LaterClock)
    monkeypatch.setattr(feedgen.feed, "datetime", _LaterClock)
    assert (render_atom(SPEC, entries), render_rss(SPEC, entries)) == first
    assert b"2031" not in first[0] + first[1]
    atom = etree.fromstring(first[0])
    assert atom.findtext(f"{ATOM}updated") == "2026-03-04T12:01:00+00:00"
    assert atom.findtext(f"{ATOM}entry/{ATOM}updated") == "2026-03-04T12:01:00+00:00"
    empty = etree.fromstring(render_atom(SPEC, []))
    assert empty.findtext(f"{ATOM}updated") == "1970-01-01T00:00:00+00:00"


def test_entries_keep_the_order_given() -> None:
    stories = [rich_story(3), rich_story(2), rich_story(1)]
    for fmt in ("rss", "atom"):
        parsed = feedparser.parse(render_document(SPEC, stories)[fmt])
        assert [e.title[-1] for e in parsed.entries] == ["3", "2", "1"]
    items = json.loads(render_document(SPEC, stories)["json"])["items"]
    assert [i["title"][-1] for i in items] == ["3", "2", "1"]


def test_syndication_module_is_spelt_in_lower_case() -> None:
    body = render_rss(SPEC, [])
    assert b"<sy:updatePeriod>hourly</sy:updatePeriod>" in body
    assert b"<sy:updateFrequency>60</sy:updateFrequency>" in body
    assert b"UpdatePeriod" not in body
    assert b"<ttl>1</ttl>" in body
    slow = FeedSpec(name="all", title="All", description="d", base_url=BASE, max_age=900)
    assert b"<sy:updateFrequency>4</sy:updateFrequency>" in render_rss(slow, [])


def test_media_rss_has_credits_and_no_group() -> None:
    for body in (
        render_rss(SPEC, [entry_of(rich_story(1), BASE)]),
        render_atom(SPEC, [entry_of(rich_story(1), BASE)]),
    ):
        root = etree.fromstring(body)
        assert not list(root.iter(f"{MEDIA}group"))
        content = next(root.iter(f"{MEDIA}content"))
        assert content.get("url") == "https://images.test/seal-1.jpg"
        assert content.findtext(f"{MEDIA}credit") == "Eva Holm/REUTERS"
        assert content.findtext(f"{MEDIA}description") == "A seal rests on a sandbank."
        credits = [c.text for c in root.iter(f"{MEDIA}credit")]
        assert credits == ["Eva Holm/REUTERS"]


def test_a_credit_without_a_photo_url_is_never_written_at_item_level() -> None:
    """Media RSS elements at item level apply to every media object of the item: the credit of
    a photo known only by caption and credit would be claimed for the other photos."""
    only_credit = rich_story(2, photos=[Photo(caption="Volunteers.", credit="Ola Berg/NTB")])
    for story in (rich_story(1), only_credit):
        entry = entry_of(story, BASE)
        for body in (render_rss(SPEC, [entry]), render_atom(SPEC, [entry])):
            root = etree.fromstring(body)
            item = root.find("channel/item")
            item = item if item is not None else root.find(f"{ATOM}entry")
            assert item is not None
            assert item.findall(f"{MEDIA}credit") == [], story.id
            assert item.findall(f"{MEDIA}description") == [], story.id
            assert b"Ola Berg/NTB" not in b"".join(
                etree.tostring(e) for e in item.iter(f"{MEDIA}credit")
            )
        # the photo and its credit still reach the reader: a captioned figure in the body
        assert "<figcaption>Volunteers" in entry.content_html
        assert "Ola Berg/NTB" in entry.content_html


def test_control_characters_do_not_abort_a_render() -> None:
    dirty = rich_story(
        1,
        headline="Seals\x00 return\x0b",
        summary="Count\x1f up\ufffe",
        body=[BodyBlock(text="Para\x08graph")],
        contributors=[Contributor(name="Ana\x07 Lima", role="reporting")],
        photos=[Photo(caption="Cap\x01tion", credit="Cre\x02dit")],
    )
    rendered = render_document(SPEC, [dirty])
    for fmt in ("rss", "atom"):
        entry = feedparser.parse(rendered[fmt]).entries[0]
        assert entry.title == "Seals return"
        assert "Paragraph" in entry.content[0].value
    assert json.loads(rendered["json"])["items"][0]["title"] == "Seals return"


def test_name_only_people_survive_in_rss_as_dc_creator() -> None:
    # naive feedgen drops an RSS author without an email
    fg = FeedGenerator()
    fg.title("x")
    fg.link(href="https://a.test/")
    fg.description("x")
    fe = fg.add_entry()
    fe.title("e")
    fe.author(name="Ana Lima")
    assert b"Ana Lima" not in fg.rss_str()

    item = etree.fromstring(render_rss(SPEC, [entry_of(rich_story(1), BASE)])).find("channel/item")
    assert item is not None
    assert [c.text for c in item.findall("{http://purl.org/dc/elements/1.1/}creator")] == [
        "Ana Lima",
        "Bo Chen",
        "Cy Dore",
        "Di Ewa",
    ]
    assert item.find("author") is None


def test_json_feed_is_rendered_too() -> None:
    feed = json.loads(
        render_document(SPEC, [rich_story(1, updated=T0 + timedelta(hours=1))])["json"]
    )
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["hubs"] == [{"type": "WebSub", "url": f"{BASE}/websub"}]
    assert feed["feed_url"] == f"{BASE}/feeds/all.json"
