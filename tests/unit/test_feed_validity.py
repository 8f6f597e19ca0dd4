"""Stand-ins for the W3C Feed Validation Service: Atom against the RELAX NG grammar of RFC 4287,
RSS against the RSS 2.0 specification's required elements and the RSS Advisory Board's Best
Practices Profile, JSON Feed against a JSON Schema of version 1.1. Each checker is also shown a
broken document, so a checker that accepts anything fails here."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from lxml import etree

from services.render.documents import render_document
from services.render.entries import Tombstone
from services.render.feeds import FeedSpec, Page
from tests.support.stories import BASE, T0, rich_story

DATA = Path(__file__).resolve().parents[1] / "data"
ATOM = "{http://www.w3.org/2005/Atom}"
SPEC = FeedSpec(name="sections/science", title="Science", description="Science", base_url=BASE)
STORIES = [
    rich_story(3, updated=T0 + timedelta(hours=2), correction="Fixes a count."),
    rich_story(2, contributors=[]),  # no author: the agency stands in
    rich_story(1, photos=[], links=["https://agency.test/a?b=1&c=2"]),
]
PAGES = {
    "subscription": Page(
        prev_archive="2026-03-03-4",
        tombstones=(Tombstone(ref="urn:syndicate:story:st_0", when=T0, link=f"{BASE}/x"),),
    ),
    "archive": Page(label="2026-03-03-4", prev_archive="2026-03-02-3", next_archive="2026-03-05-5"),
    "empty": Page(),
}


def documents(page: str) -> dict[str, bytes]:
    stories = [] if page == "empty" else STORIES
    return render_document(SPEC, stories, PAGES[page])


@pytest.fixture(scope="module")
def atom_schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(DATA / "atom-rfc4287.rng")))


@pytest.fixture(scope="module")
def json_schema() -> dict[str, Any]:
    return dict(json.loads((DATA / "jsonfeed-1.1.schema.json").read_text()))


# --- Atom ------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_atom_validates_against_rfc4287(atom_schema: etree.RelaxNG, page: str) -> None:
    document = etree.fromstring(documents(page)["atom"])
    assert atom_schema.validate(document), atom_schema.error_log
    # the RFC's Schematron rule, not in the grammar: every entry has an author
    for entry in document.iter(f"{ATOM}entry"):
        assert entry.find(f"{ATOM}author") is not None


def test_the_atom_grammar_refuses_a_broken_feed(atom_schema: etree.RelaxNG) -> None:
    body = documents("subscription")["atom"]
    for broken in (
        body.replace(b"<updated>2026", b"<updated>yesterday 2026", 1),
        body.replace(b"<title>", b"<title><b>", 1).replace(b"</title>", b"</b></title>", 1),
        re.sub(rb"<id>[^<]*</id>", b"", body, count=1),
    ):
        assert not atom_schema.validate(etree.fromstring(broken))


# --- RSS 2.0 ---------------------------------------------------------------------------------


def rss_problems(body: bytes) -> list[str]:
    """What the RSS 2.0 specification requires and the Best Practices Profile recommends."""
    problems: list[str] = []
    root = etree.fromstring(body)
    atom = "{http://www.w3.org/2005/Atom}"
    if root.tag != "rss" or root.get("version") != "2.0":
        problems.append("root must be <rss version='2.0'>")
    channels = root.findall("channel")
    if len(channels) != 1:
        return [*problems, "exactly one channel"]
    channel = channels[0]
    for required in ("title", "link", "description"):
        if not (channel.findtext(required) or "").strip():
            problems.append(f"channel {required} is required")
    for recommended in ("language", "lastBuildDate", "generator", "docs", "ttl"):
        if channel.find(recommended) is None:
            problems.append(f"channel {recommended} is recommended")
    selfs = [x for x in channel.findall(f"{atom}link") if x.get("rel") == "self"]
    if len(selfs) != 1 or selfs[0].get("type") != "application/rss+xml":
        problems.append("one atom:link rel=self with type application/rss+xml")
    for date in [channel.find("lastBuildDate"), *root.iter("pubDate")]:
        if date is not None and not re.match(
            r"^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} ", date.text or ""
        ):
            problems.append(f"RFC 822 date with a four-digit year: {date.text}")
        elif date is not None:
            parsedate_to_datetime(date.text or "")
    for element in root.iter():
        for attribute in ("href", "url", "domain"):
            value = element.get(attribute)
            if value is not None and not re.match(r"^https?://", value):
                problems.append(f"relative or odd URL {value!r}")
        url_text = element.text if element.tag in ("link", "docs", "comments") else None
        if url_text and not re.match(r"^https?://", url_text.strip()):
            problems.append(f"relative URL in {element.tag}")
    guids: set[str] = set()
    for item in channel.findall("item"):
        if item.find("title") is None and item.find("description") is None:
            problems.append("an item needs a title or a description")
        for recommended in ("title", "link", "description", "guid", "pubDate"):
            if item.find(recommended) is None:
                problems.append(f"item {recommended} is recommended")
        guid = item.find("guid")
        if guid is not None:
            permalink = guid.get("isPermaLink", "true")
            if permalink == "true" and not (guid.text or "").startswith("http"):
                problems.append("a guid that is not a URL needs isPermaLink='false'")
            if guid.text in guids:
                problems.append("guids must be unique")
            guids.add(guid.text or "")
        if (
            item.find("author") is not None
            and item.find("{http://purl.org/dc/elements/1.1/}creator") is not None
        ):
            problems.append("an item should not have both author and dc:creator")
        if len(item.findall("enclosure")) > 1:
            problems.append("at most one enclosure per item")
        children = [c.tag for c in item]
        encoded = "{http://purl.org/rss/1.0/modules/content/}encoded"
        if encoded in children and "description" not in children:
            problems.append("content:encoded goes with a description (the summary)")
        if any(isinstance(c.tag, str) and c.tag.endswith("}group") for c in item):
            problems.append("no media:group wrapper")
    for element in root.iter():  # the standard prefix of each namespace (validators warn otherwise)
        if isinstance(element.tag, str) and element.prefix is not None:
            expected = STANDARD_PREFIXES.get(etree.QName(element).namespace)
            if expected and element.prefix != expected:
                problems.append(f"non-standard prefix {element.prefix} for {expected}")
    return problems


STANDARD_PREFIXES = {
    "http://www.w3.org/2005/Atom": "atom",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://purl.org/dc/terms/": "dcterms",
    "http://search.yahoo.com/mrss/": "media",
    "http://purl.org/rss/1.0/modules/syndication/": "sy",
    "http://purl.org/rss/1.0/modules/content/": "content",
    "http://purl.org/syndication/history/1.0": "fh",
}


@pytest.mark.parametrize("page", PAGES)
def test_rss_meets_the_spec_and_best_practices(page: str) -> None:
    assert rss_problems(documents(page)["rss"]) == []


def test_the_rss_checker_finds_problems() -> None:
    body = documents("subscription")["rss"]
    broken = body.replace(b'isPermaLink="false"', b"", 1).replace(b"<ttl>", b"<tttl>", 1)
    broken = broken.replace(b"</ttl>", b"</tttl>", 1).replace(b"<language>en</language>", b"")
    problems = rss_problems(broken)
    assert "a guid that is not a URL needs isPermaLink='false'" in problems
    assert "channel ttl is recommended" in problems
    assert "channel language is recommended" in problems


# --- JSON Feed 1.1 ---------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_json_feed_validates_against_version_1_1(json_schema: dict[str, Any], page: str) -> None:
    jsonschema.validate(json.loads(documents(page)["json"]), json_schema)


def test_the_json_schema_refuses_a_broken_feed(json_schema: dict[str, Any]) -> None:
    feed = json.loads(documents("subscription")["json"])
    broken = [
        {**feed, "version": "https://jsonfeed.org/version/1"},
        {k: v for k, v in feed.items() if k != "title"},
        {**feed, "items": [{"id": "x"}]},  # neither content_html nor content_text
        {**feed, "items": [{**feed["items"][0], "date_published": "4 March 2026"}]},
        {**feed, "surprise": 1},
    ]
    for document in broken:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(document, json_schema)
