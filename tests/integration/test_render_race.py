"""Two render pumps on one Redis: a document is never rendered by both at once (a mark during a
render makes it render again once that render is over), and a renderer that outlived its lease
cannot overwrite newer bytes with the stale ones it rendered (claims fence the store)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import kombu.exceptions
import pytest
import redis

from services.render.dirty import DirtySet
from services.render.pump import Pump, Rendered
from shared import feedstore, keys
from shared.redis_conn import get_redis
from shared.settings import get_settings
from tests.support.render import drain, publish
from tests.support.stories import rich_story
from tests.support.waiting import wait_for


@pytest.fixture
def client(redis_db: redis.Redis, settings_env: pytest.MonkeyPatch) -> redis.Redis:
    settings_env.setenv("SYNDICATE_FEED_RENDER_WINDOW", "0.01")
    get_settings.cache_clear()
    return redis_db


def in_feed(client: redis.Redis, story_id: str) -> bool:
    stored = feedstore.load_feed(client, "all", "json")
    return stored is not None and f'"urn:syndicate:story:{story_id}"'.encode() in stored.body


def due(client: redis.Redis, document: str) -> bool:
    """Has the mark of ``document`` come due (on the Redis server's clock)?"""
    score = client.zscore(keys.feeds_dirty(), document)
    seconds, micros = client.time()
    return score is not None and score <= seconds + micros / 1e6


class Recorder:
    """A render function that remembers what it rendered (and may hold a render at a gate)."""

    def __init__(self, render: Callable[..., Rendered], gate: threading.Event | None = None):
        self.render = render
        self.gate = gate
        self.entered = threading.Event()
        self.rendered: list[str] = []

    def __call__(self, document: str, claim: int | None = None) -> Rendered:
        if self.gate is not None and document == "all":
            self.entered.set()
            assert self.gate.wait(60), "the test never opened the gate"
        self.rendered.append(document)
        return self.render(document, claim)


def test_a_document_another_pump_is_rendering_is_not_claimed(client: redis.Redis) -> None:
    from services.render.tasks import render_feed_document

    publish(client, rich_story(1, contributors=[]))
    drain(client)
    gate = threading.Event()
    slow, quick = Recorder(render_feed_document, gate), Recorder(render_feed_document)
    pump_a, pump_b = Pump(get_redis, slow), Pump(get_redis, quick)
    DirtySet(client).mark(["all"], 0)
    thread = threading.Thread(target=pump_a.run_once)
    thread.start()
    try:
        wait_for(slow.entered.is_set, timeout=30, message="pump A to start rendering all")
        publish(client, rich_story(2, contributors=[]))  # an event while A renders
        wait_for(lambda: due(client, "all"), timeout=30, message="the new mark to fall due")
        pump_b.run_once()
        assert "sections/science" in quick.rendered  # B works on what is free...
        assert "all" not in quick.rendered  # ...but leaves alone what A holds
    finally:
        gate.set()
        thread.join(60)
    # the mark made during A's render is not lost: "all" renders again once A is done (by
    # whichever pump claims it first; A's run_once goes on claiming what falls due)
    wait_for(
        lambda: pump_b.run_once() >= 0 and DirtySet(client).pending() == 0,
        timeout=30,
        message="every mark to be rendered",
    )
    assert (slow.rendered + quick.rendered).count("all") == 2
    assert in_feed(client, "st_2")


def test_a_renderer_past_its_lease_cannot_store_stale_bytes(
    client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.render import tasks

    publish(client, rich_story(1, contributors=[]))
    drain(client)
    gate, holding = threading.Event(), threading.Event()
    real_save = tasks._save
    slow_thread: list[threading.Thread] = []

    def save(*args: Any, **kwargs: Any) -> bool:
        if threading.current_thread() in slow_thread and args[1] == "all":
            holding.set()  # rendered from the stories as they were; now stalls before storing
            assert gate.wait(60), "the test never opened the gate"
        return bool(real_save(*args, **kwargs))

    monkeypatch.setattr(tasks, "_save", save)
    pump_a = Pump(get_redis, tasks.render_feed_document, lease=0.5)
    pump_b = Pump(get_redis, tasks.render_feed_document)
    DirtySet(client).mark(["all"], 0)
    thread = threading.Thread(target=pump_a.run_once)
    slow_thread.append(thread)
    thread.start()
    try:
        wait_for(holding.is_set, timeout=30, message="pump A to stall before storing")
        publish(client, rich_story(2, contributors=[]))
        # A's lease runs out: B takes the document over and stores the new bytes
        wait_for(lambda: pump_b.run_once() and in_feed(client, "st_2"), timeout=30, message="B")
    finally:
        gate.set()
        thread.join(60)
    assert in_feed(client, "st_2"), "the stale render of pump A overwrote newer bytes"
    for fmt in ("rss", "atom"):
        stored = feedstore.load_feed(client, "all", fmt)
        assert stored is not None and b"st_2" in stored.body, fmt


def test_claims_only_grow_and_fence_the_store(client: redis.Redis) -> None:
    from datetime import UTC, datetime

    dirty = DirtySet(client)
    dirty.mark(["a"], 0)
    [(_, first)] = dirty.claim(10, 30)
    assert dirty.done("a", first)
    client.delete(keys.feed_claims())  # even with the counters lost...
    dirty.mark(["a"], 0)
    [(_, second)] = dirty.claim(10, 30)
    assert second > first  # ...a later claim has a larger number
    assert not dirty.done("a", first)  # a stale claim ends nothing
    when = datetime(2026, 3, 4, tzinfo=UTC)
    assert feedstore.save_feed(client, "a", "rss", b"new", when, "t", claim=second)
    assert not feedstore.save_feed(client, "a", "rss", b"stale", when, "t", claim=first)
    stored = feedstore.load_feed(client, "a", "rss")
    assert stored is not None and stored.body == b"new"
    assert dirty.done("a", second)
    assert dirty.pending() == 0


def test_a_failed_render_is_tried_again_soon_not_after_its_lease(client: redis.Redis) -> None:
    """A render that raises hands its lease back (due a second later); when the hand-back
    itself fails (Redis down), the pump hands it back once Redis answers. Either way the
    document renders again long before its lease (an hour here) would have run out."""
    calls: list[str] = []

    def flaky(document: str, claim: int | None = None) -> Rendered:
        calls.append(document)
        if len(calls) == 1:
            raise RuntimeError("the first render fails")
        return Rendered(changed=())

    dirty = DirtySet(client)
    dirty.mark(["all"], 0)
    pump = Pump(get_redis, flaky, lease=3600)
    pump.run_once()
    assert calls == ["all"]
    wait_for(lambda: pump.run_once() or calls == ["all", "all"], timeout=10)
    assert client.zcard(keys.feeds_rendering()) == 0

    # the hand-back fails (Redis away): kept in memory, handed back by the next run
    dirty.mark(["all"], 0)
    calls.clear()
    real_done = DirtySet.done

    def done_fails(self: DirtySet, *args: Any) -> bool:
        raise redis.ConnectionError("Redis is away")

    DirtySet.done = done_fails  # type: ignore[method-assign]
    try:
        pump.run_once()
    finally:
        DirtySet.done = real_done  # type: ignore[method-assign]
    assert calls == ["all"] and len(pump.unreturned) == 1
    assert client.zscore(keys.feeds_rendering(), "all") is not None, "still leased"
    wait_for(lambda: pump.run_once() or calls == ["all", "all"], timeout=10)
    assert pump.unreturned == [] and client.zcard(keys.feeds_rendering()) == 0


def test_a_feed_change_whose_announcement_was_lost_is_announced_by_the_next_render(
    client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bytes are stored, then ``feed.updated`` cannot be sent (Redis away, a worker
    killed): the next render of the feed stores nothing new, yet announces it."""
    from services.render import tasks

    publish(client, rich_story(1))
    sent: list[dict[str, Any]] = []

    def lost(task: str, *args: Any) -> None:
        raise kombu.exceptions.OperationalError("broker away")

    monkeypatch.setattr(tasks, "send", lost)
    with pytest.raises(kombu.exceptions.OperationalError):
        tasks.render_feed_document("all")
    assert feedstore.load_feed(client, "all", "json") is not None, "the bytes were stored"

    monkeypatch.setattr(tasks, "send", lambda task, *args: sent.append(args[0]))
    again = tasks.render_feed_document("all")
    assert again.changed == (), "nothing new to store"
    assert [u["feed"] for u in sent] == ["all"], "but the change is announced now"
    tasks.render_feed_document("all")
    assert len(sent) == 1, "and only once"
