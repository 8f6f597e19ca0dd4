"""Named feeds live in ``shared`` (render shows them, publish filters webhooks on them): one
definition and one matcher, which render uses unchanged."""

from __future__ import annotations

import pytest

from services.render import named as render_named
from services.render.entries import feed_slug
from shared import named_feeds
from shared.named_feeds import NamedFeed, matches, name_slug
from tests.support.events import make_story


def test_render_uses_the_shared_definitions() -> None:
    assert render_named.NamedFeed is NamedFeed
    assert render_named.load_named_feeds is named_feeds.load_named_feeds
    assert render_named.parse_named_feeds is named_feeds.parse_named_feeds


@pytest.mark.parametrize("name", ["World News", "Gabriela Baczyńska", "中文新闻", "untitled", "  "])
def test_names_compare_by_the_slug_their_feeds_are_named_by(name: str) -> None:
    assert name_slug(name) == feed_slug(name)


def test_the_matcher_and_the_method_agree() -> None:
    energy = NamedFeed(name="energy", title="Energy", sections=["business"], keywords=["oil"])
    oil = make_story("st_1", section="Business", headline="Oil rises")
    gold = make_story("st_1", section="Business", headline="Gold rises")
    assert matches(energy, oil) and energy.matches(oil)
    assert not matches(energy, gold) and not energy.matches(gold)


def test_the_settings_named_feeds_are_read_once_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.unit.test_settings import make

    settings = make(monkeypatch, NAMED_FEEDS='{"energy": {"title": "Energy"}}')
    found = named_feeds.named_feeds(settings)
    assert list(found) == ["energy"] and found["energy"].title == "Energy"
    assert named_feeds.named_feeds(settings) is found


def test_bad_named_feeds_stop_the_publish_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.celery_app import get_celery
    from shared.settings import get_settings

    monkeypatch.setenv("SYNDICATE_REDIS_URL", "redis://127.0.0.1:1/0")  # never reached
    monkeypatch.setenv("SYNDICATE_NAMED_FEEDS", '{"Bad Name": {"title": "x"}}')
    get_settings.cache_clear()
    get_celery.cache_clear()
    try:
        from services.publish.tasks import check_named_feeds

        with pytest.raises(SystemExit) as stopped:
            check_named_feeds()
        assert stopped.value.code == 2
    finally:
        get_settings.cache_clear()
        get_celery.cache_clear()
