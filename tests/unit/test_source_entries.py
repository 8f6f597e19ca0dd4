"""Feeds split into one-entry documents that ingest reads like pushed copy, pure: dedupe keys,
digests, new and changed entries, WebSub links in the document."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from services.ingest.decide import story_id_for
from services.ingest.formats import ParseContext, parse
from services.ingest.sources import entries
from services.ingest.sources.entries import entry_key, iter_new, split
from shared.errors import ParseError
from tests.support.upstream import rss

DATA = Path(__file__).parents[1] / "data" / "formats"


@pytest.mark.parametrize("name", ["feed_rss.xml", "feed_atom.xml", "jsonfeed.json"])
def test_each_entry_reads_as_the_whole_feed_reads_it(name: str) -> None:
    """The one parsing path and identity rule: an entry alone gives the very story the whole
    feed gives for it (same id, headline, body, people, publisher)."""
    data = (DATA / name).read_bytes()
    whole = parse(data, ParseContext())
    document = split(data)
    assert len(document.entries) == len(whole)
    for entry, expected in zip(document.entries, whole, strict=True):
        (alone,) = parse(entry.body, ParseContext(content_type=entry.content_type))
        assert alone == expected
        assert story_id_for(alone) == story_id_for(expected)


def test_rss_entries_keep_the_channel_and_the_namespaces() -> None:
    document = split((DATA / "feed_rss.xml").read_bytes())
    assert document.format == "rss"
    assert [e.key for e in document.entries] == ["guid:courier-2026-0901", "guid:courier-2026-0902"]
    first = etree.fromstring(document.entries[0].body)
    assert first.nsmap["dc"] == "http://purl.org/dc/elements/1.1/"
    channel = first.find("channel")
    assert channel is not None and channel.findtext("title") == "Valley Courier"
    assert [i.findtext("guid") for i in channel.findall("item")] == ["courier-2026-0901"]
    assert document.entries[0].content_type == "application/rss+xml; charset=utf-8"


def test_json_feed_entries_are_the_feed_with_one_item() -> None:
    document = split((DATA / "jsonfeed.json").read_bytes())
    (entry,) = document.entries
    one = json.loads(entry.body)
    assert one["title"] == "River Notes" and [i["id"] for i in one["items"]] == ["rn-1"]
    assert entry.key == "guid:rn-1" and entry.content_type.startswith("application/feed+json")


def test_keys_are_the_guid_else_the_link_else_the_digest() -> None:
    assert entry_key(" abc ", "https://x/1", "d") == "guid:abc"
    assert entry_key(None, "https://x/1", "d") == "link:https://x/1"
    assert entry_key("", "  ", "d0") == "hash:d0"
    long = "g" * 1000
    assert entry_key(long, None, "d").startswith("guid#") and len(entry_key(long, None, "d")) < 80


def test_entries_without_guid_are_known_by_link_then_by_content() -> None:
    feed = (
        b'<rss version="2.0"><channel><title>T</title>'
        b"<item><title>One</title><link>https://x.example/1</link></item>"
        b"<item><title>Two</title></item></channel></rss>"
    )
    first, second = split(feed).entries
    assert first.key == "link:https://x.example/1"
    assert second.key == f"hash:{second.digest}"


def test_a_changed_entry_keeps_its_key_and_changes_its_digest_alone() -> None:
    before = split(rss([("a", "Ferry resumes"), ("b", "Bridge closes")]))
    after = split(rss([("a", "Ferry resumes at last"), ("b", "Bridge closes")], title="Renamed"))
    assert [e.key for e in before.entries] == [e.key for e in after.entries]
    assert before.entries[0].digest != after.entries[0].digest
    # neither the channel nor the other entry changes an entry's digest
    assert before.entries[1].digest == after.entries[1].digest


def test_three_new_entries_among_twenty() -> None:
    old = [(f"g{i}", f"Story number {i}") for i in range(17)]
    new = [(f"g{i}", f"Story number {i}") for i in range(17, 20)]
    known = {e.key: e.digest for e in split(rss(old[::-1])).entries}
    document = split(rss((old + new)[::-1]))  # newest first, as feeds list them
    taken = list(iter_new(document.entries, known))
    assert [(e.key, changed) for e, changed in taken] == [
        ("guid:g17", False),
        ("guid:g18", False),
        ("guid:g19", False),
    ]  # oldest first


def test_a_changed_entry_is_taken_again_as_a_change() -> None:
    known = {e.key: e.digest for e in split(rss([("a", "Ferry resumes")])).entries}
    (taken,) = iter_new(split(rss([("a", "Ferry resumes at dawn")])).entries, known)
    assert taken[0].key == "guid:a" and taken[1] is True
    assert list(iter_new(split(rss([("a", "Ferry resumes")])).entries, known)) == []


def test_the_first_entry_of_a_repeated_guid_counts() -> None:
    document = split(rss([("a", "Newest"), ("a", "Older copy")]))
    (entry,) = document.entries
    (draft,) = parse(entry.body, ParseContext(content_type=entry.content_type))
    assert draft.headline == "Newest"


def test_hubs_and_self_links_in_the_document() -> None:
    rss_doc = split(rss([("a", "A story")], hub="https://hub.example/", self_url="https://w/f"))
    assert rss_doc.hubs == ["https://hub.example/"] and rss_doc.self_url == "https://w/f"
    atom = split(
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>'
        b'<link rel="hub" href="https://hub.example/h"/><link rel="self" href="https://w/a"/>'
        b"<entry><id>urn:x:1</id><title>Entry</title></entry></feed>"
    )
    assert atom.hubs == ["https://hub.example/h"] and atom.self_url == "https://w/a"
    assert [e.key for e in atom.entries] == ["guid:urn:x:1"]
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "J",
        "feed_url": "https://w/j.json",
        "hubs": [
            {"type": "rssCloud", "url": "https://c/"},
            {"type": "WebSub", "url": "https://h/"},
        ],
        "items": [{"id": "1", "title": "One"}],
    }
    as_json = split(json.dumps(feed).encode())
    assert as_json.hubs == ["https://h/"] and as_json.self_url == "https://w/j.json"


def test_rss_1_0_items_beside_the_channel_and_a_lone_item() -> None:
    rdf = (
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        b'xmlns="http://purl.org/rss/1.0/"><channel><title>R</title></channel>'
        b"<item><title>First</title><link>https://r/1</link></item>"
        b"<item><title>Second</title><link>https://r/2</link></item></rdf:RDF>"
    )
    entries = split(rdf).entries
    assert [e.key for e in entries] == ["link:https://r/1", "link:https://r/2"]
    headlines = [
        parse(e.body, ParseContext(content_type=e.content_type))[0].headline for e in entries
    ]
    assert headlines == ["First", "Second"]
    (lone,) = split(b"<item><title>Alone</title><guid>z</guid></item>").entries
    assert lone.key == "guid:z"


def test_what_is_not_a_feed_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="line 1"):
        split(b"<rss><channel><item></channel></rss>")
    with pytest.raises(ParseError, match="not a feed"):
        split((DATA / "nitf.xml").read_bytes())
    with pytest.raises(ParseError, match="not a feed"):
        split(b"OSLO, Sept 1 (Reuters) - plain copy is not a feed")
    with pytest.raises(ParseError, match="read as atom"):
        split((DATA / "feed_rss.xml").read_bytes(), forced="atom")
    with pytest.raises(ParseError, match="entities"):
        split(b'<!DOCTYPE r [<!ENTITY a "b">]><rss><channel/></rss>')


def test_an_empty_feed_has_no_entries() -> None:
    assert split(rss([])).entries == []


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text("abcdefghij0123456789", min_size=1, max_size=12),
            st.text("ABCDEFGHIJKLMNOP qrstuvwxyz", min_size=3, max_size=40).filter(
                lambda s: s.strip() and len(s.strip()) > 2
            ),
        ),
        max_size=12,
        unique_by=lambda pair: pair[0],
    )
)
def test_every_entry_of_any_feed_is_one_story_with_its_own_guid(
    items: list[tuple[str, str]],
) -> None:
    document = split(rss(items))
    assert [e.key for e in document.entries] == [f"guid:{guid}" for guid, _ in items]
    for entry, (guid, _headline) in zip(document.entries, items, strict=True):
        (draft,) = parse(entry.body, ParseContext(content_type=entry.content_type))
        assert draft.guid == guid


def json_feed(**members: object) -> bytes:
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "J", **members}
    ).encode()


@pytest.mark.parametrize(
    ("members", "where"),
    [
        ({"hubs": 5}, "hubs is int"),
        ({"hubs": {"type": "WebSub"}}, "hubs is dict"),
        ({"hubs": [5]}, "hubs[0] is int"),
        ({"hubs": [{"type": "WebSub", "url": 5}]}, "hubs[0].url is int"),
        ({"hubs": [{"type": ["WebSub"], "url": "https://h/"}]}, "hubs[0].type is list"),
        ({"items": {"a": 1}}, "items is dict"),
        ({"items": "one"}, "items is str"),
        ({"items": [{"id": "1"}, 7]}, "items[1] is int"),
        ({"items": [{"id": [1, 2]}]}, "items[0].id is list"),
        ({"items": [{"id": {"x": 1}}]}, "items[0].id is dict"),
        ({"items": [{"id": True}]}, "items[0].id is bool"),
        ({"items": [{"id": "1", "url": 5}]}, "items[0].url is int"),
        ({"feed_url": 5}, "feed_url is int"),
    ],
)
def test_json_feed_members_of_the_wrong_type_are_a_malformed_feed(
    members: dict[str, object], where: str
) -> None:
    """The document is the upstream's error (kept, quarantined), not a crash of the poll."""
    with pytest.raises(ParseError, match=f"malformed JSON Feed: {re.escape(where)}"):
        split(json_feed(**members))


def test_json_feed_members_that_may_be_absent_or_null_or_a_number() -> None:
    document = split(json_feed(hubs=None, feed_url=None, items=[{"id": 5, "url": None}]))
    assert [e.key for e in document.entries] == ["guid:5"] and document.hubs == []
    assert split(json_feed()).entries == [] and split(json_feed(items=None)).entries == []


def test_whatever_trips_the_splitter_is_the_documents_parse_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(_text: str, _fmt: str) -> None:
        raise KeyError("a bug, or a document nobody foresaw")

    monkeypatch.setattr(entries, "_split_xml", broken)
    with pytest.raises(ParseError, match="could not be split: KeyError"):
        split(rss([("a", "A story")]))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
JSON_FEED_MEMBERS = st.sampled_from(["items", "hubs", "feed_url", "title", "home_page_url"])
JSON_ITEM = st.dictionaries(
    st.sampled_from(["id", "url", "title", "content_text", "content_html"]), JSON_VALUES, max_size=4
)


@settings(max_examples=300, deadline=None)
@given(
    members=st.dictionaries(
        JSON_FEED_MEMBERS,
        JSON_VALUES | st.lists(JSON_ITEM, max_size=3) | st.lists(JSON_VALUES, max_size=3),
        max_size=4,
    )
)
def test_any_json_feed_splits_or_is_a_parse_error(members: dict[str, object]) -> None:
    """Whatever JSON an upstream (or a hub's push) sends under a JSON Feed version, ``split``
    answers entries or a ``ParseError``, nothing else."""
    try:
        document = split(json_feed(**members))
    except ParseError:
        return
    assert all(entry.key and entry.digest for entry in document.entries)
    assert all(isinstance(hub, str) for hub in document.hubs)


@settings(max_examples=200, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(str.encode),
        st.from_regex(
            r'\A<\?xml version="1.0"\?><(rss|feed|rdf:RDF|item|entry)[^>]{0,40}>.{0,120}\Z'
        ).map(str.encode),
    ),
    content_type=st.sampled_from(
        ["", "application/rss+xml", "application/feed+json", "text/xml; charset=klingon", "\x00"]
    ),
    forced=st.sampled_from(["auto", "rss", "atom", "jsonfeed"]),
)
def test_any_document_splits_or_is_a_parse_error(
    data: bytes, content_type: str, forced: str
) -> None:
    with contextlib.suppress(ParseError):
        split(data, content_type, forced)
