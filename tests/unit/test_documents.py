"""A feed stays under the size limit: the largest entries are shortened first, entries dropped
last (an outsized one first, else the oldest); Last-Modified of stored bytes."""

from __future__ import annotations

import json

import feedparser

from services.render.documents import FORMATS, render_document
from services.render.feeds import FeedSpec
from shared.models import BodyBlock, Photo
from tests.support.stories import BASE, rich_story

SPEC = FeedSpec(name="all", title="All", description="Every story", base_url=BASE)
LIMIT = 1_000_000


def long_story(n: int, paragraphs: int = 60) -> object:
    body = [
        BodyBlock(text=f"Paragraph {i} of story {n}. " + "Seals " * 80) for i in range(paragraphs)
    ]
    return rich_story(n, body=body)


def test_fifty_long_stories_fit_under_one_megabyte_with_every_entry() -> None:
    stories = [long_story(n) for n in range(50, 0, -1)]
    unlimited = render_document(SPEC, stories, max_bytes=10**9)  # type: ignore[arg-type]
    assert max(len(b) for b in unlimited.values()) > LIMIT  # the test needs a feed that is too big
    rendered = render_document(SPEC, stories, max_bytes=LIMIT)  # type: ignore[arg-type]
    for fmt in FORMATS:
        assert len(rendered[fmt]) <= LIMIT, fmt
    items = json.loads(rendered["json"])["items"]
    truncated = [bool(item["_syndicate"].get("truncated")) for item in items]
    assert len(items) == 50 and any(truncated)
    for fmt in ("rss", "atom"):
        parsed = feedparser.parse(rendered[fmt])
        assert parsed.bozo == 0
        assert len(parsed.entries) == 50
        for entry, cut in zip(parsed.entries, truncated, strict=True):
            assert ("Read the full story" in entry.content[0].value) is cut
    # among stories of the same size (st_50 to st_10) the older ones are shortened first: the
    # newest stay whole
    same_size = truncated[:41]
    assert same_size[0] is False and same_size == sorted(same_size)


def test_small_feeds_are_not_touched() -> None:
    stories = [rich_story(n) for n in range(3, 0, -1)]
    assert render_document(SPEC, stories, max_bytes=LIMIT) == render_document(
        SPEC, stories, max_bytes=10**9
    )
    assert "Read the full story" not in render_document(SPEC, stories)["atom"].decode()


def test_last_modified_has_whole_seconds_and_always_moves_on_when_bytes_change() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from services.render.documents import last_modified

    t = datetime(2026, 3, 4, 12, 0, 0, 100_000, tzinfo=UTC)
    assert last_modified(t, None) == datetime(2026, 3, 4, 12, 0, 0, tzinfo=UTC)
    # a newer date in the same second as the stored one: one second on
    assert last_modified(t + timedelta(milliseconds=800), last_modified(t, None)) == datetime(
        2026, 3, 4, 12, 0, 1, tzinfo=UTC
    )
    # an older date (a removal): still one second after the stored one
    stored = datetime(2026, 3, 4, 13, 0, 0, tzinfo=UTC)
    assert last_modified(t, stored) == stored + timedelta(seconds=1)
    # a stored value with microseconds (written by an older version) is truncated first
    assert last_modified(t, stored + timedelta(microseconds=5)) == stored + timedelta(seconds=1)
    # a clearly newer date wins as it is, in UTC
    later = datetime(2026, 3, 4, 15, 30, 7, 999_999, tzinfo=timezone(timedelta(hours=2)))
    assert last_modified(later, stored) == datetime(2026, 3, 4, 13, 30, 7, tzinfo=UTC)


def _ids(rendered: dict[str, bytes]) -> dict[str, list[str]]:
    found = {
        fmt: [e.id.rsplit(":", 1)[1] for e in feedparser.parse(rendered[fmt]).entries]
        for fmt in ("rss", "atom")
    }
    found["json"] = [i["id"].rsplit(":", 1)[1] for i in json.loads(rendered["json"])["items"]]
    return found


def test_one_huge_entry_is_shortened_and_empties_nothing() -> None:
    """A story far over the limit on its own (a 1.2 MB summary) is the one cut down; every
    other entry stays as it was."""
    normal = [rich_story(n) for n in range(49, 0, -1)]
    huge = rich_story(50, summary="R&D " * 300_000)
    rendered = render_document(SPEC, [huge, *normal], max_bytes=LIMIT)  # type: ignore[list-item]
    for fmt, ids in _ids(rendered).items():
        assert len(rendered[fmt]) <= LIMIT, fmt
        assert ids == [f"st_{n}" for n in range(50, 0, -1)], fmt
    item = json.loads(rendered["json"])["items"][0]
    assert len(item["summary"]) < 1000 and item["_syndicate"]["truncated"] is True
    untouched = render_document(SPEC, normal)  # type: ignore[arg-type]
    assert json.loads(rendered["json"])["items"][1:] == json.loads(untouched["json"])["items"]


def test_the_largest_entry_is_shortened_not_the_oldest_dropped() -> None:
    # fifty stories of about 8 000 characters (longer than a first shortening round would keep)
    stories = [long_story(n, paragraphs=17) for n in range(50, 0, -1)]
    long_body = [BodyBlock(text=f"Paragraph {i}. " + "Seals " * 400) for i in range(600)]
    stories[30] = rich_story(20, body=long_body)  # and one 1.4 MB body in the middle
    rendered = render_document(SPEC, stories, max_bytes=LIMIT)  # type: ignore[arg-type]
    items = json.loads(rendered["json"])["items"]
    assert len(items) == 50 and len(items[0]["content_html"]) > 8000
    assert [i["_syndicate"].get("truncated", False) for i in items].count(True) == 1
    assert items[30]["_syndicate"]["truncated"] is True
    for fmt in FORMATS:
        assert len(rendered[fmt]) <= LIMIT, fmt


def test_photos_per_entry_are_capped() -> None:
    from services.render.entries import MAX_PHOTOS, entry_of

    many = [
        Photo(url=f"https://images.test/p{i}.jpg", caption="c", credit="x") for i in range(3000)
    ]
    entry = entry_of(rich_story(50, photos=many), BASE)
    assert len(entry.photos) == MAX_PHOTOS <= 20
    normal = [rich_story(n) for n in range(49, 0, -1)]
    rendered = render_document(SPEC, [rich_story(50, photos=many), *normal])  # type: ignore[list-item]
    for fmt, ids in _ids(rendered).items():
        assert len(ids) == 50, fmt


def test_an_entry_that_cannot_fit_even_at_its_shortest_is_the_one_left_out() -> None:
    normal = [rich_story(n) for n in range(49, 0, -1)]
    monster = rich_story(50, headline="Seals " * 200_000)  # a 1.2 MB headline: never shortened
    rendered = render_document(SPEC, [monster, *normal], max_bytes=LIMIT)  # type: ignore[list-item]
    for fmt, ids in _ids(rendered).items():
        assert ids == [f"st_{n}" for n in range(49, 0, -1)], fmt
        assert len(rendered[fmt]) <= LIMIT


def test_too_many_entries_for_a_small_limit_keeps_the_newest() -> None:
    stories = [rich_story(n) for n in range(50, 0, -1)]
    limit = 40_000
    rendered = render_document(SPEC, stories, max_bytes=limit)  # type: ignore[arg-type]
    found = _ids(rendered)
    for fmt, ids in found.items():
        assert len(rendered[fmt]) <= limit, fmt
        assert ids, fmt  # never an empty feed while entries can fit
        assert ids == [f"st_{n}" for n in range(50, 50 - len(ids), -1)], fmt  # the newest
    assert found["rss"] == found["atom"] == found["json"]


def test_a_story_edited_in_place_or_with_the_same_id_renders_its_new_text() -> None:
    """The entry cache keys on the story object: a new object with the same id and version
    (other bytes under the same id) renders its own text, never the cached entry."""
    first = rich_story(1)
    before = render_document(SPEC, [first])["json"].decode()
    changed = first.model_copy(update={"headline": "Seals seen on the Thames at dawn"})
    after = render_document(SPEC, [changed])["json"].decode()
    assert "Seals seen on the Thames at dawn" not in before
    assert "Seals seen on the Thames at dawn" in after
    assert render_document(SPEC, [first])["json"].decode() == before  # the first is still cached


def test_equal_entries_hash_alike_and_a_shortened_copy_is_another_key() -> None:
    from dataclasses import replace

    from services.render.entries import entry_of

    one, two = entry_of(rich_story(1), BASE), entry_of(rich_story(1), BASE)
    assert one == two and one is not two
    assert hash(one) == hash(two) == hash(one)  # the cached hash is the fields' hash
    shortened = replace(one, truncated=True)
    assert shortened != one and hash(shortened) != hash(one)
    assert {one: "a", two: "b"} == {one: "b"}


def test_a_document_renders_in_the_formats_asked_for_with_the_same_bytes() -> None:
    """The pump renders a followed feed in its followers' formats alone: those bytes are the
    ones a render of every format makes (while nothing needs fitting)."""
    stories = [rich_story(n) for n in range(5, 0, -1)]
    every = render_document(SPEC, stories)  # type: ignore[arg-type]
    assert set(every) == set(FORMATS)
    json_only = render_document(SPEC, stories, formats=("json",))  # type: ignore[arg-type]
    assert json_only == {"json": every["json"]}
    two = render_document(SPEC, stories, formats=("json", "rss"))  # type: ignore[arg-type]
    assert two == {"rss": every["rss"], "json": every["json"]}


def test_a_document_in_fewer_formats_is_still_kept_under_the_limit() -> None:
    stories = [rich_story(n) for n in range(50, 0, -1)]
    limit = 40_000
    rendered = render_document(SPEC, stories, max_bytes=limit, formats=("json",))  # type: ignore[arg-type]
    assert list(rendered) == ["json"] and len(rendered["json"]) <= limit
    assert json.loads(rendered["json"])["items"], "never empty while entries fit"
