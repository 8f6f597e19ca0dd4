"""Which documents render at once (followed feeds) and which wait to be read."""

from __future__ import annotations

from datetime import UTC, datetime

from services.publish.follows import followed
from services.render.documents import FORMATS
from services.render.eagerness import formats_at_once, is_eager, split
from shared.follows import EVERY_FEED, PRESENT, eager_formats, is_followed, pushed_formats
from shared.models import Subscription, SubscriptionFilter
from shared.settings import Settings

LAZY = Settings(redis_url="redis://unused", feed_lazy_seconds=60)


def test_documents_of_followed_feeds_render_at_once_and_the_rest_wait() -> None:
    members = frozenset({PRESENT, "agencies/afp"})
    documents = ["all", "agencies/afp", "agencies/afp/archive/2026-01-01-1", "sections/world"]
    eager, lazy = split(documents, members, LAZY)
    assert eager == ["agencies/afp"]
    assert lazy == ["all", "agencies/afp/archive/2026-01-01-1", "sections/world"]


def test_archive_pages_wait_to_be_read_unless_every_document_renders_at_once() -> None:
    """Archive pages are never announced: followers read them (which renders them), so they
    wait even when their feed is followed, or every feed is (external hubs, no record)."""
    page = "agencies/afp/archive/2026-01-01-1"
    hubs = LAZY.model_copy(update={"websub_publish_hubs": ["https://hub.example/"]})
    assert not is_eager(page, frozenset({PRESENT, EVERY_FEED}), LAZY)
    assert not is_eager(page, None, LAZY)
    assert not is_eager(page, frozenset({PRESENT}), hubs)
    assert is_eager("agencies/afp", frozenset({PRESENT}), hubs)
    assert is_eager(page, frozenset({PRESENT}), LAZY.model_copy(update={"feed_lazy_seconds": 0}))


def test_every_document_renders_at_once_when_told_or_without_a_record() -> None:
    nobody = frozenset({PRESENT})
    assert not is_eager("all", nobody, LAZY)
    assert is_eager("all", None, LAZY), "no record: publish never wrote one"
    assert is_eager("all", frozenset({PRESENT, EVERY_FEED}), LAZY)
    assert is_eager("all", nobody, LAZY.model_copy(update={"feed_lazy_seconds": 0}))
    hubs = LAZY.model_copy(update={"websub_publish_hubs": ["https://hub.example/"]})
    assert is_eager("all", nobody, hubs), "external hubs hear of every feed"


def test_feed_names_compare_case_insensitively() -> None:
    assert is_followed(frozenset({PRESENT, "sections/world"}), "Sections/World/")


def _sub(n: int, events: list[str], feeds: list[str], disabled: bool = False) -> Subscription:
    return Subscription(
        id=f"sub_{n}",
        url="https://partner.example/",
        events=events,  # type: ignore[arg-type]
        filter=SubscriptionFilter(feeds=feeds),
        secret="whsec_x",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        disabled=disabled,
    )


def test_the_record_holds_what_feed_updated_webhooks_and_websub_follow() -> None:
    hooks = [
        _sub(1, ["story.published"], ["sections/sport"]),  # stories only
        _sub(2, ["feed.updated"], ["Sections/Business", "/all/"]),
        _sub(3, ["feed.updated"], [], disabled=True),
    ]
    assert followed(hooks, [("Agencies/AFP", "json")]) == {
        PRESENT,
        "sections/business",
        "sections/business#*",
        "all",
        "all#*",
        "agencies/afp",
        "agencies/afp#json",
    }
    assert EVERY_FEED in followed([_sub(4, ["feed.updated"], [])], [])
    assert followed([], []) == {PRESENT}


def test_the_record_names_the_formats_websub_subscribers_follow() -> None:
    members = frozenset(followed([], [("Agencies/AFP", "json"), ("all", "rss")]))
    assert members == {PRESENT, "agencies/afp", "agencies/afp#json", "all", "all#rss"}
    assert pushed_formats(members, "agencies/afp") == ("json",)
    assert pushed_formats(members, "all") == ("rss",)
    assert pushed_formats(members, "sections/world") == ()
    assert pushed_formats(None, "all") == ("rss", "atom", "json"), "no record: every format"
    # a webhook following every feed pushes no format: only WebSub subscribers are pushed to
    assert pushed_formats(frozenset({PRESENT, EVERY_FEED}), "all") == ()


def test_a_feed_renders_at_once_in_the_formats_its_followers_take() -> None:
    """WebSub subscribers take their formats; a feed.updated webhook names every format."""
    websub_only = frozenset(followed([], [("agencies/afp", "json"), ("all", "rss")]))
    assert formats_at_once("agencies/afp", websub_only, LAZY) == ("json",)
    assert formats_at_once("all", websub_only, LAZY) == ("rss",)
    assert formats_at_once("sections/world", websub_only, LAZY) == (), "nobody follows it"
    assert formats_at_once("agencies/afp/archive/2026-01-01-1", websub_only, LAZY) == ()
    both = frozenset(
        followed([_sub(1, ["feed.updated"], ["Agencies/AFP"])], [("agencies/afp", "json")])
    )
    assert formats_at_once("agencies/afp", both, LAZY) == FORMATS, "the webhook takes them all"
    every = frozenset(followed([_sub(2, ["feed.updated"], [])], [("all", "json")]))
    assert formats_at_once("all", every, LAZY) == FORMATS, "a webhook following every feed"
    assert formats_at_once("all", None, LAZY) == FORMATS, "no record"
    legacy = frozenset({PRESENT, "sections/world"})  # a record from before feed#* existed
    assert eager_formats(legacy, "sections/world") == FORMATS
    hubs = LAZY.model_copy(update={"websub_publish_hubs": ["https://hub.example/"]})
    assert formats_at_once("sections/world", websub_only, hubs) == FORMATS, "hubs hear of all"
    zero = LAZY.model_copy(update={"feed_lazy_seconds": 0})
    assert formats_at_once("agencies/afp", websub_only, zero) == FORMATS
