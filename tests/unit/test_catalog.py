"""Which feeds exist and which a story belongs to; named feeds from settings; document paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.render import catalog
from services.render.entries import feed_slug
from services.render.named import load_named_feeds, parse_named_feeds
from shared.errors import ConfigurationError
from shared.models import BodyBlock, Contributor
from tests.support.stories import rich_story

ENERGY = parse_named_feeds(
    '{"energy": {"title": "Energy desk", "sections": ["Science"], "keywords": ["seals", "oil"]},'
    ' "norsk": {"title": "Norsk", "languages": ["nb"]},'
    ' "ana": {"title": "By Ana", "contributors": ["ana lima"], "agencies": ["REUTERS"]}}'
)


def test_a_story_belongs_to_all_its_section_agency_contributors_and_matching_named_feeds() -> None:
    feeds = catalog.memberships(rich_story(1), ENERGY)
    assert sorted(feeds) == [
        "agencies/reuters",
        "all",
        "ana",
        "contributors/ana-lima",
        "contributors/bo-chen",
        "contributors/cy-dore",
        "contributors/di-ewa",
        "energy",
        "sections/science",
    ]
    assert feeds["sections/science"].label == "Science"
    assert feeds["energy"].kind == "named"


@pytest.mark.parametrize("status", ["withdrawn", "withheld"])
def test_a_withdrawn_or_withheld_story_belongs_nowhere(status: str) -> None:
    assert catalog.memberships(rich_story(1, status=status), ENERGY) == {}


def test_named_filters() -> None:
    energy, norsk, ana = sorted(ENERGY, key=lambda f: ["energy", "norsk", "ana"].index(f.name))
    assert energy.matches(rich_story(1))  # "seals" in the body, section Science
    assert not energy.matches(rich_story(1, section="Sport"))
    plain = rich_story(1, headline="Other", summary="", body=[BodyBlock(text="Sealskin trade")])
    assert not energy.matches(plain)  # whole words only
    assert norsk.matches(rich_story(1, language="nb-NO"))
    assert not norsk.matches(rich_story(1, language="en"))
    assert not norsk.matches(rich_story(1, language=None))
    assert ana.matches(rich_story(1))
    assert not ana.matches(rich_story(1, contributors=[Contributor(name="Bo", role="writing")]))
    assert not ana.matches(rich_story(1, agency="AP"))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{not json", "not valid JSON"),
        ('{"all": {"title": "x"}}', "'all'"),
        ('{"Bad Name": {"title": "x"}}', "lower-case"),
        ('{"x": {"title": "x", "colour": "red"}}', "colour"),
        ('{"x": {"sections": []}}', "title"),
        ('["x"]', "object"),
    ],
)
def test_bad_named_feeds_are_refused_with_the_reason(text: str, words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        parse_named_feeds(text)


def test_named_feeds_from_a_toml_file_and_env(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text('[feeds.markets]\ntitle = "Markets"\nkeywords = ["stocks"]\n')
    feeds = load_named_feeds('{"desk": {"title": "Desk"}}', path)
    assert [f.name for f in feeds] == ["markets", "desk"]
    with pytest.raises(ConfigurationError, match="defined twice"):
        load_named_feeds('{"markets": {"title": "Again"}}', path)
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_named_feeds(None, tmp_path / "missing.json")


def test_feed_slugs() -> None:
    assert feed_slug("World News") == feed_slug("world-news") == "world-news"
    assert feed_slug("Gabriela Baczyńska") == "gabriela-baczynska"
    # names with no ASCII transliteration get distinct, stable slugs
    assert feed_slug("王伟") != feed_slug("李娜")
    assert feed_slug("王伟") == feed_slug("王伟").lower() and feed_slug("王伟").startswith("n-")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("all.rss", ("all", None, "rss")),
        ("sections/world-news.atom", ("sections/world-news", None, "atom")),
        ("energy.json", ("energy", None, "json")),
        ("all/archive/2026-03-04-17.json", ("all", "2026-03-04-17", "json")),
        (
            "contributors/ana-lima/archive/2026-03-04-1.rss",
            ("contributors/ana-lima", "2026-03-04-1", "rss"),
        ),
        ("all.txt", None),
        ("../../etc/passwd.rss", None),
        ("sections/../all.rss", None),
        ("sections/a/b.rss", None),
        ("sections/.rss", None),
        ("ALL.rss", None),
        ("all/archive/latest.rss", None),
        ("all.rss/", None),
        ("all\x00.rss", None),
    ],
)
def test_document_paths(path: str, expected: tuple[str, str | None, str] | None) -> None:
    assert catalog.parse_document_path(path) == expected


def test_titles_by_kind() -> None:
    feeds = catalog.memberships(rich_story(1), ENERGY)
    spec = catalog.spec_for(
        feeds["agencies/reuters"], base_url="http://x", title="Wire", language="en", max_age=60
    )
    assert (spec.title, spec.description) == (
        "Wire: Reuters",
        "Stories from Reuters, newest first.",
    )
    named = catalog.spec_for(
        feeds["energy"], base_url="http://x", title="Wire", language="en", max_age=60
    )
    assert named.title == "Energy desk"
    norsk = next(f for f in ENERGY if f.name == "norsk")
    assert (
        catalog.spec_for(
            catalog.named_info(norsk), base_url="http://x", title="W", language="en", max_age=60
        ).language
        == "nb"
    )
