"""A feed stays under the size limit: long bodies are shortened first, entries dropped last."""

from __future__ import annotations

import json

import feedparser

from services.render.documents import FORMATS, render_document
from services.render.feeds import FeedSpec
from shared.models import BodyBlock
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
    for fmt in ("rss", "atom"):
        parsed = feedparser.parse(rendered[fmt])
        assert parsed.bozo == 0
        assert len(parsed.entries) == 50
        assert "Read the full story" in parsed.entries[0].content[0].value
    items = json.loads(rendered["json"])["items"]
    assert len(items) == 50 and items[0]["_syndicate"]["truncated"] is True


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
