"""Feed-level strings (titles, descriptions, the labels feeds are named after) go through the
same sanitiser as entry fields: hostile markup in a section, agency or contributor name never
reaches a feed title, and control characters in them never abort a render."""

from __future__ import annotations

import json

import feedparser
import pytest
from lxml import etree

from services.render import catalog
from services.render.documents import render_document
from services.render.named import parse_named_feeds
from shared.models import Contributor
from tests.support.stories import BASE, rich_story

HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)><iframe src="https://e.test/">'
BANNED = ("<script", "script>", "alert(", "onerror", "<iframe", "<img")


def documents_of(story: object, feed: str) -> dict[str, bytes]:
    feeds = catalog.memberships(story, ())  # type: ignore[arg-type]
    assert feed in feeds, sorted(feeds)
    spec = catalog.spec_for(
        feeds[feed], base_url=BASE, title="Syndicate", language="en", max_age=60
    )
    return render_document(spec, [story])  # type: ignore[list-item]


def feed_level_text(rendered: dict[str, bytes]) -> dict[str, list[str]]:
    """What a reader shows as the feed's title and description, per format, after unescaping."""
    rss = etree.fromstring(rendered["rss"]).find("channel")
    atom = etree.fromstring(rendered["atom"])
    data = json.loads(rendered["json"])
    assert rss is not None
    ns = "{http://www.w3.org/2005/Atom}"
    return {
        "rss": [rss.findtext("title") or "", rss.findtext("description") or ""],
        "atom": [atom.findtext(f"{ns}title") or "", atom.findtext(f"{ns}subtitle") or ""],
        "json": [data["title"], data["description"]],
    }


@pytest.mark.parametrize(
    ("changes", "feed", "label"),
    [
        ({"section": f"Sport{HOSTILE}"}, "sections/sport", "Sport"),
        ({"agency": f"Reuters{HOSTILE}"}, "agencies/reuters", "Reuters"),
        (
            {"contributors": [Contributor(name=f"Ana Lima{HOSTILE}", role="reporting")]},
            "contributors/ana-lima",
            "Ana Lima",
        ),
    ],
)
def test_hostile_markup_in_a_label_never_reaches_feed_titles(
    changes: dict[str, object], feed: str, label: str
) -> None:
    story = rich_story(1, **changes)
    # the slug is built from the cleaned value: no "sport-script-alert-1-script"
    assert feed in catalog.memberships(story, ())
    rendered = documents_of(story, feed)
    for fmt, texts in feed_level_text(rendered).items():
        assert texts[0] == f"Syndicate: {label}", (fmt, texts)
        assert label in texts[1], (fmt, texts)
        for text in texts:
            for banned in BANNED:
                assert banned not in text.lower(), (fmt, text)
    for fmt in ("rss", "atom"):
        parsed = feedparser.parse(rendered[fmt], sanitize_html=False)
        assert parsed.bozo == 0
        seen = f"{parsed.feed.title} {parsed.feed.get('subtitle', '')}".lower()
        for banned in BANNED:
            assert banned not in seen, (fmt, seen)


@pytest.mark.parametrize(
    ("changes", "feed", "label"),
    [
        ({"section": "Sci\x0bence\x00"}, "sections/science", "Science"),
        ({"agency": "Reu\x1bters"}, "agencies/reuters", "Reuters"),
        (
            {"contributors": [Contributor(name="Ana\x07 Lima", role="reporting")]},
            "contributors/ana-lima",
            "Ana Lima",
        ),
    ],
)
def test_control_characters_in_a_label_do_not_abort_the_render(
    changes: dict[str, object], feed: str, label: str
) -> None:
    rendered = documents_of(rich_story(1, **changes), feed)
    for fmt, texts in feed_level_text(rendered).items():
        assert texts[0] == f"Syndicate: {label}", (fmt, texts)


def test_a_label_that_is_only_markup_makes_no_feed() -> None:
    feeds = catalog.memberships(rich_story(1, section="<script>x</script>", agency="\x07"), ())
    assert not any(name.startswith(("sections/", "agencies/")) for name in feeds)


def test_named_feeds_and_the_title_setting_are_sanitised_too() -> None:
    [named] = parse_named_feeds(
        json.dumps({"desk": {"title": f"Desk\x07{HOSTILE}", "description": f"D\x00{HOSTILE}"}})
    )
    spec = catalog.spec_for(
        catalog.named_info(named), base_url=BASE, title="Wire", language="en", max_age=60
    )
    assert (spec.title, spec.description) == ("Desk", "D")
    section = catalog.memberships(rich_story(1), ())["sections/science"]
    spec = catalog.spec_for(
        section, base_url=BASE, title=f"Wire\x0b{HOSTILE}", language="en", max_age=60
    )
    assert spec.title == "Wire: Science"


def test_a_registry_label_stored_before_sanitising_is_cleaned_when_rendered() -> None:
    old = catalog.FeedInfo(name="sections/sport", kind="section", label=f"Sport\x0b{HOSTILE}")
    spec = catalog.spec_for(old, base_url=BASE, title="Syndicate", language="en", max_age=60)
    assert spec.title == "Syndicate: Sport"
    assert spec.description == "Stories in the Sport section, newest first."


def test_named_filters_compare_the_cleaned_values() -> None:
    [desk] = parse_named_feeds('{"desk": {"title": "Desk", "sections": ["Sport"]}}')
    assert desk.matches(rich_story(1, section=f"Sport{HOSTILE}"))
    assert desk.matches(rich_story(1, section="Sp\x07ort"))
