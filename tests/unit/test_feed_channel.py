"""Feed-level elements each format must carry: self and hub links, generator, subtitle and
language (Atom ``xml:lang``), and the settings' defaults for size and the render window."""

from __future__ import annotations

import json

import pytest
from lxml import etree

from services.render.documents import render_document
from services.render.feeds import GENERATOR, FeedSpec, Page
from shared.settings import Settings
from tests.support.stories import BASE, rich_story

ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
SPEC = FeedSpec(
    name="sections/science",
    title="Syndicate: Science",
    description="Stories in the Science section, newest first.",
    base_url=BASE,
    language="nb",
)


def atom_links(root: etree._Element) -> dict[str, etree._Element]:
    return {link.get("rel") or "": link for link in root.findall(f"{ATOM}link")}


def test_atom_feed_has_self_hub_generator_subtitle_and_language() -> None:
    root = etree.fromstring(render_document(SPEC, [rich_story(1)])["atom"])
    links = atom_links(root)
    assert links["self"].get("href") == f"{BASE}/feeds/sections/science.atom"
    assert links["self"].get("type") == "application/atom+xml"
    assert links["hub"].get("href") == f"{BASE}/websub"
    assert links["alternate"].get("href") == f"{BASE}/feeds"
    assert root.findtext(f"{ATOM}generator") == GENERATOR == "Syndicate"
    assert root.findtext(f"{ATOM}subtitle") == SPEC.description
    assert root.findtext(f"{ATOM}title") == SPEC.title
    assert root.get(XML_LANG) == "nb"
    assert root.findtext(f"{ATOM}id") == f"{BASE}/feeds/sections/science.atom"


def test_atom_archive_page_links_self_current_and_neighbours_but_no_hub() -> None:
    page = Page(label="2026-03-04-2", prev_archive="2026-03-03-1", next_archive="2026-03-05-3")
    root = etree.fromstring(render_document(SPEC, [rich_story(1)], page)["atom"])
    links = atom_links(root)
    assert links["self"].get("href") == f"{BASE}/feeds/sections/science/archive/2026-03-04-2.atom"
    assert links["current"].get("href") == f"{BASE}/feeds/sections/science.atom"
    assert links["prev-archive"].get("href").endswith("/archive/2026-03-03-1.atom")
    assert links["next-archive"].get("href").endswith("/archive/2026-03-05-3.atom")
    assert "hub" not in links


def test_rss_channel_has_self_hub_generator_and_language() -> None:
    channel = etree.fromstring(render_document(SPEC, [rich_story(1)])["rss"]).find("channel")
    assert channel is not None
    links = {link.get("rel"): link.get("href") for link in channel.findall(f"{ATOM}link")}
    assert links == {
        "self": f"{BASE}/feeds/sections/science.rss",
        "hub": f"{BASE}/websub",
    }
    assert channel.findtext("generator") == "Syndicate"
    assert channel.findtext("language") == "nb"
    assert channel.findtext("description") == SPEC.description


def test_json_feed_has_feed_url_hub_and_language() -> None:
    feed = json.loads(render_document(SPEC, [rich_story(1)])["json"])
    assert feed["feed_url"] == f"{BASE}/feeds/sections/science.json"
    assert feed["hubs"] == [{"type": "WebSub", "url": f"{BASE}/websub"}]
    assert feed["language"] == "nb"
    assert feed["description"] == SPEC.description


def test_feed_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SYNDICATE_" + field.upper() for field in Settings.model_fields):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.feed_size == 50
    assert settings.feed_render_window == 0.25
    assert settings.feed_max_age == 60
    assert settings.feed_max_bytes == 1_000_000
