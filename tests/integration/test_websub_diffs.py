"""WebSub pushes carry the entries new since the feed's previous change: render keeps that diff
for the formats WebSub subscribers follow, publish sends it, and no push of a diff is skipped
for a newer one, so a subscriber misses no entry however fast a feed turns over. Without a kept
diff (the first change, a removal, one kept too long ago) the whole feed goes out, as before.
Render and publish run in-process on a real Redis; pushes go over real HTTP to a callback."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import redis
import requests

from services.publish import attempts, fanout
from services.publish.websub_verify import verify
from shared import feedstore, keys
from shared.models import FeedUpdate
from shared.settings import get_settings
from tests.support.render import drain, feed_updates, publish
from tests.support.stories import rich_story
from tests.support.websub_callback import Callback

FEED = "agencies/reuters"  # rich_story's agency


@pytest.fixture
def hub(redis_db: redis.Redis, settings_env: pytest.MonkeyPatch) -> redis.Redis:
    settings_env.setenv("SYNDICATE_FEED_RENDER_WINDOW", "0.02")
    settings_env.setenv("SYNDICATE_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")
    settings_env.setenv("SYNDICATE_WEBSUB_DIFF_SECONDS", "120")
    get_settings.cache_clear()
    from services.render.eagerness import FOLLOWED

    FOLLOWED.seconds = 0  # read the followed record on every render
    return redis_db


def now() -> datetime:
    return datetime.now(UTC)


def subscribe(api: str, client: redis.Redis, callback: Callback, fmt: str = "json") -> None:
    topic = f"{get_settings().base_url}/feeds/{FEED}.{fmt}"
    answer = requests.post(
        f"{api}/websub",
        data={"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": callback.url},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text
    assert verify(client, answer.json()["intent"], now(), get_settings(), "c") == "verified"


def take_updates(client: redis.Redis) -> list[FeedUpdate]:
    """The ``feed.updated`` messages render sent for FEED (taken off publish's queue)."""
    found = [update for update in feed_updates(client) if update.feed == FEED]
    client.delete(keys.celery_queue("publish"))
    return found


def change(client: redis.Redis, n: int) -> FeedUpdate:
    """Story ``n`` into the feed, rendered and announced."""
    publish(client, rich_story(n))
    drain(client)
    (update,) = take_updates(client)
    return update


def pushed(callback: Callback) -> list[list[str]]:
    """The story ids in each push, in order."""
    bodies = [json.loads(r.body) for r in callback.snapshot() if r.method == "POST"]
    return [[item["id"].rsplit(":", 1)[1] for item in body["items"]] for body in bodies]


def test_render_keeps_a_diff_of_each_change_for_the_pushed_formats_only(
    hub: redis.Redis, api: str, callback: Callback
) -> None:
    change(hub, 1)  # the feed exists (a topic must be rendered to be subscribed to)
    subscribe(api, hub, callback, "json")
    second = change(hub, 2)
    diff = feedstore.load_diff(hub, FEED, "json", second.etags["json"])
    assert diff is not None
    items = json.loads(diff.body)["items"]
    assert [item["id"].rsplit(":", 1)[1] for item in items] == ["st_2"]
    assert diff.content_type == "application/feed+json; charset=utf-8"
    assert set(second.etags) == {"json"}, "nobody follows RSS or Atom: they wait to be read"
    assert not hub.keys(keys.feed_diff(FEED, "rss", "*")), "and no RSS diff is kept"
    assert 0 < hub.ttl(keys.feed_diff(FEED, "json", second.etags["json"])) <= 120
    # the whole feed, as served, still holds both
    whole = feedstore.load_feed(hub, FEED, "json")
    assert whole is not None and whole.etag == second.etags["json"]
    assert len(json.loads(whole.body)["items"]) == 2


def test_every_diff_goes_out_even_when_the_feed_moved_on_before_it_did(
    hub: redis.Redis, api: str, callback: Callback
) -> None:
    change(hub, 1)
    subscribe(api, hub, callback)
    updates = [change(hub, n) for n in (2, 3, 4)]  # three changes before any push goes out
    made = [fanout.feed_update(hub, update, now()) for update in updates]
    for (delivery,) in made:
        assert attempts.run(hub, delivery, now(), get_settings()).status == "succeeded"
    assert pushed(callback) == [["st_2"], ["st_3"], ["st_4"]]


def test_without_a_kept_diff_the_whole_current_feed_goes_out_and_older_bytes_are_superseded(
    hub: redis.Redis, api: str, callback: Callback
) -> None:
    change(hub, 1)
    subscribe(api, hub, callback)
    older, newer = change(hub, 2), change(hub, 3)
    for update in (older, newer):  # kept too long ago: gone
        hub.delete(keys.feed_diff(FEED, "json", update.etags["json"]))
    (first,) = fanout.feed_update(hub, older, now())
    (second,) = fanout.feed_update(hub, newer, now())
    assert attempts.run(hub, first, now(), get_settings()).status == "superseded"
    assert attempts.run(hub, second, now(), get_settings()).status == "succeeded"
    assert pushed(callback) == [["st_3", "st_2", "st_1"]]


def test_diffs_can_be_turned_off(
    hub: redis.Redis, api: str, callback: Callback, settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.setenv("SYNDICATE_WEBSUB_DIFF_SECONDS", "0")
    get_settings.cache_clear()
    change(hub, 1)
    subscribe(api, hub, callback)
    update = change(hub, 2)
    assert feedstore.load_diff(hub, FEED, "json", update.etags["json"]) is None
    (delivery,) = fanout.feed_update(hub, update, now())
    assert attempts.run(hub, delivery, now(), get_settings()).status == "succeeded"
    assert pushed(callback) == [["st_2", "st_1"]]


def test_late_copy_and_corrections_below_the_newest_entries_are_pushed_too(
    hub: redis.Redis, api: str, callback: Callback, settings_env: pytest.MonkeyPatch
) -> None:
    """The feed shows its two newest stories; a story dated before them (late copy) and a new
    version of one on an archive page change no entry of the document, yet both go out with
    the feed's next change."""
    settings_env.setenv("SYNDICATE_FEED_SIZE", "2")
    get_settings.cache_clear()
    for n in (1, 2):
        change(hub, n)
    subscribe(api, hub, callback)
    change(hub, 3)  # st_1 moves to an archive page
    publish(hub, rich_story(0))  # dated before st_1: straight to an archive page
    publish(hub, rich_story(1, version=2, headline="Corrected"))
    drain(hub)
    assert take_updates(hub) == [], "the document did not change: nothing announced yet"
    (delivery,) = fanout.feed_update(hub, change(hub, 4), now())
    whole = feedstore.load_feed(hub, FEED, "json")
    assert whole is not None
    assert [i["id"].rsplit(":", 1)[1] for i in json.loads(whole.body)["items"]] == ["st_4", "st_3"]
    assert attempts.run(hub, delivery, now(), get_settings()).status == "succeeded"
    assert pushed(callback) == [["st_4", "st_1", "st_0"]]
    (push,) = [json.loads(r.body) for r in callback.snapshot() if r.method == "POST"]
    assert push["items"][1]["title"] == "Corrected", "the new version"
