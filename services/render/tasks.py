"""Render's Celery task and the render the pump runs: load, render (pure), store, tell publish.

    story event ─> on_story_event: move the story between feed indexes ─> mark touched documents
    pump (a thread in each render worker): claim due documents ─> render_document each:
        load the document's stories ─> documents.render_document (pure) ─> feedstore
        ─> if a subscription document's bytes changed: keep its WebSub diffs (diffs.py),
           then feed.updated to publish

Both are safe to run twice: moving a story is idempotent and a render of unchanged data gives
the same bytes, which are then not stored again and announce nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from celery.signals import worker_ready, worker_shutdown

from services.render import catalog, diffs, eagerness
from services.render.dirty import DirtySet
from services.render.documents import CONTENT_TYPES, FORMATS, last_modified, render_document
from services.render.entries import Tombstone, feed_updated, story_link, story_urn
from services.render.feeds import FeedSpec, Page
from services.render.index import Index, stories_oldest_first
from services.render.named import NamedFeed, load_named_feeds
from services.render.pump import Pump, Rendered
from shared import batches, follows, keys, metrics, names, outbox, stories
from shared import feedstore as store
from shared.celery_app import get_celery, send
from shared.ids import derived_id
from shared.logging import bind
from shared.models import Event, FeedUpdate, Story
from shared.redis_conn import get_redis, text
from shared.settings import Settings, get_settings

log = logging.getLogger(__name__)
app = get_celery()

#: Version 2: entries scored by date (not arrival), date-ranged pages, hash-tagged feed keys.
INDEX_VERSION = "2"

RENDERS = metrics.Counter(
    "syndicate_feed_renders_total",
    "Feed documents rendered, per feed and format (archive pages count as FEED/archive; "
    "contributor feeds together as contributors/*).",
    ("feed", "format"),
)
RENDER_SECONDS = metrics.Histogram(
    "syndicate_feed_render_seconds",
    "Time to render one feed document in the formats it renders (load, render, store).",
    ("document",),
)
MARKS = metrics.Counter(
    "syndicate_feed_marks_total",
    "Feed documents marked for rendering by story events (before coalescing).",
)
CHANGED = metrics.Counter(
    "syndicate_feed_changes_total",
    "Renders whose bytes differed from the stored ones, per format.",
    ("format",),
)


@lru_cache(maxsize=4)
def _named(inline: str | None, path: Path | None) -> tuple[NamedFeed, ...]:
    return tuple(load_named_feeds(inline, path))


def named_feeds(settings: Settings | None = None) -> tuple[NamedFeed, ...]:
    """The named feeds of the settings (parsed once per distinct setting)."""
    settings = settings or get_settings()
    return _named(settings.named_feeds, settings.named_feeds_file)


def _tombstone_expiry(settings: Settings) -> float:
    ttl = settings.feed_tombstone_seconds
    return time.time() + ttl if ttl else 0.0


#: story events one event task handles at most: its own and those waiting behind it in the
#: queue (``shared.batches``)
EVENT_BATCH = 32


@app.task(name=names.TASK_RENDER_ON_EVENT)
def on_story_event(event_data: dict[str, Any]) -> list[str]:
    """Move the event's story into the feeds it belongs to now; mark what changed. The events
    waiting behind it in the queue are handled here too (``shared.batches``), their marks,
    metrics and outbox entries in one round trip. An event that fails is logged and the
    others go on; the task then fails with its error, and the outbox sends it again."""
    client = get_redis()
    events = [Event.model_validate(event_data)]
    events += batches.events(batches.take(client, names.TASK_RENDER_ON_EVENT, EVENT_BATCH - 1))
    pipe = client.pipeline(transaction=False)  # the marks, their metric and the outbox entries
    documents: set[str] = set()
    failed: Exception | None = None
    for event in events:
        with bind(event_id=event.id, story_id=event.story_id):
            try:
                documents.update(_move(client, event, pipe))
            except Exception as exc:
                log.exception("event %s could not be handled; the outbox sends it again", event.id)
                failed = failed or exc
                continue
        outbox.fill_handled(pipe, "render", event.id)
    pipe.execute()
    if failed is not None:
        raise failed
    if len(events) > 1:
        log.info("handled %d story events in one task", len(events))
    return sorted(documents)


def _move(client: Any, event: Event, pipe: Any) -> list[str]:
    """Move the story between the feed indexes; its marks go on ``pipe`` (the caller runs
    it: whatever it adds goes in the same round trip)."""
    if event.story_id is None:
        return []
    settings = get_settings()
    story = stories.get_story(client, event.story_id)
    if story is None:
        log.warning("event %s: story %s not found", event.id, event.story_id)
        return []
    feeds = catalog.memberships(story, named_feeds(settings))
    documents = Index(client).move_story(
        story, feeds, page_size=settings.feed_size, tombstone_expires=_tombstone_expiry(settings)
    )
    eager, lazy = eagerness.split(documents, eagerness.members(client, settings), settings)
    _note_arrivals(client, story.id, feeds, documents, settings, pipe)
    dirty = DirtySet(client)
    dirty.mark(eager, settings.feed_render_window, pipe)
    dirty.mark(lazy, settings.feed_lazy_seconds, pipe)
    metrics.fill(pipe, MARKS.increment(amount=len(documents)))
    log.info(
        "event %s (%s): marked %d documents (%d at once, %d when read)",
        event.id, event.type, len(documents), len(eager), len(lazy),
    )  # fmt: skip
    return sorted(documents)


def _tombstones(index: Index, name: str, base_url: str) -> tuple[list[Tombstone], float | None]:
    """The feed's tombstones in force, and when the first of them expires."""
    found = index.tombstones(name, time.time())
    if not found:
        return [], None
    removed = {s.id: s for s in stories.get_many(index.client, [sid for sid, _ in found])}
    tombstones = [
        Tombstone(
            ref=story_urn(sid),
            when=removed[sid].updated,
            link=story_link(removed[sid], base_url),
            comment="Withdrawn" if removed[sid].status != "usable" else "Removed from this feed",
        )
        for sid, _ in found
        if sid in removed
    ]
    tombstones.sort(key=lambda t: (t.when, t.ref), reverse=True)
    return tombstones, min(expiry for _, expiry in found)


def _load(index: Index, ids: list[str]) -> list[Story]:
    shown = [s for s in stories.get_many(index.client, ids) if s.status == "usable"]
    shown.sort(key=lambda s: (s.first_published, s.id), reverse=True)
    return shown


def render_feed_document(
    document: str, claim: int | None = None, *, whole: bool = True
) -> Rendered:
    """Render one document (a subscription document or an archive page) in every format and
    store what changed. The pump calls this with its claim number, which fences the store (a
    render older than the stored one is refused), and ``whole=False``: a followed feed's
    subscription document then renders in its followers' formats alone (``_formats``). It is
    also safe to call directly."""
    started = time.perf_counter()
    settings = get_settings()
    client = get_redis()
    index = Index(client)
    name, label = catalog.split_document_id(document)
    info = index.feed_info(name)
    if info is None:
        return Rendered(changed=())
    spec = catalog.spec_for(
        info,
        base_url=settings.base_url,
        title=settings.feed_title,
        language=settings.feed_language,
        max_age=settings.feed_max_age,
    )
    members = eagerness.members(client, settings)  # one snapshot for this render
    next_due = None
    formats, rest_due = FORMATS, None
    if label is None:
        tombstones, next_due = _tombstones(index, name, settings.base_url)
        shown = _load(index, index.newest_ids(name, settings.feed_size))
        page = Page(prev_archive=index.newest_page(name), tombstones=tuple(tombstones))
        formats, rest_due = _formats(client, document, members, settings, whole)
    else:
        bounds = index.page_bounds(name, label)
        if bounds is None:
            return Rendered(changed=())
        shown = _load(index, index.page_ids(name, bounds))
        page = Page(label=label, prev_archive=bounds.prev, next_archive=bounds.next)
    rendered = render_document(
        spec, shown, page, max_bytes=settings.feed_max_bytes, formats=formats
    )
    if rest_due is not None and max(map(len, rendered.values())) > settings.feed_max_bytes // 2:
        # near the limit the formats rendered alone could be fitted unlike all three: render all
        formats, rest_due = FORMATS, None
        rendered = render_document(spec, shown, page, max_bytes=settings.feed_max_bytes)
        client.hdel(keys.feeds_partial(), document)
    updated = max([feed_updated([], page.tombstones, spec.created), *(s.updated for s in shown)])
    stored = store.load_stored(client, document, list(rendered))
    changed = [
        fmt
        for fmt, body in rendered.items()
        if _save(client, document, fmt, body, updated, claim, stored[fmt])
    ]
    feed_label = catalog.metric_feed(name, label)
    metrics.record(  # one round trip for every metric of this render
        client,
        *(RENDERS.increment((feed_label, fmt)) for fmt in rendered),
        *(CHANGED.increment((fmt,)) for fmt in changed),
        RENDER_SECONDS.observation(
            ("subscription" if label is None else "archive",), time.perf_counter() - started
        ),
    )
    etags = {fmt: store.etag_of(body) for fmt, body in rendered.items()}
    if _announced(document, members, settings) and _to_announce(client, document, etags, changed):
        update = FeedUpdate(
            id=derived_id("evt", "feed", name, *sorted(etags.values())),
            timestamp=datetime.now(UTC),
            feed=name,
            urls={fmt: spec.url(fmt) for fmt in rendered},
            etags=etags,
            content_types={fmt: CONTENT_TYPES[fmt] for fmt in rendered},
        )
        _keep_diffs(
            client,
            document,
            spec,
            shown,
            page,
            etags,
            follows.pushed_formats(members, document),
            settings,
            lambda ids: _load(index, ids),
        )
        send(names.TASK_PUBLISH_ON_FEED_UPDATED, update.model_dump(mode="json"))
        store.save_announced(client, document, etags)
    due = [t for t in (next_due, rest_due) if t is not None]
    return Rendered(changed=tuple(changed), next_due=min(due) if due else None)


def _formats(
    client: Any, document: str, members: frozenset[str] | None, settings: Settings, whole: bool
) -> tuple[tuple[str, ...], float | None]:
    """The formats to render a subscription document in, and when the others fall due.

    A followed feed renders at once in the formats its followers take
    (``eagerness.formats_at_once``) when the pump renders it (``whole`` false); the others wait
    as an unfollowed feed's would, from the first render that left them behind
    (``keys.feeds_partial``) until ``SYNDICATE_FEED_LAZY_SECONDS`` later, when the pump renders
    every format. A read renders every format (``onread``), and so does any render of a feed
    whose followers take every format or none."""
    wanted = eagerness.formats_at_once(document, members, settings)
    if not wanted or len(wanted) == len(FORMATS):
        return FORMATS, None
    if not whole:
        now = time.time()
        since = client.hget(keys.feeds_partial(), document)
        if since is None:
            client.hset(keys.feeds_partial(), document, repr(now))
            return wanted, now + settings.feed_lazy_seconds
        due = float(since) + settings.feed_lazy_seconds
        if now < due:
            return wanted, due
    client.hdel(keys.feeds_partial(), document)  # every format renders now: none waits
    return FORMATS, None


def _note_arrivals(
    client: Any,
    story_id: str,
    feeds: Iterable[str],
    documents: set[str],
    settings: Settings,
    pipe: Any,
) -> None:
    """For each feed WebSub subscribers are pushed that the story joined or changed in (one of
    its documents changed), note the story for the feed's next diff (``diffs``)."""
    if settings.websub_diff_seconds <= 0:
        return
    members = eagerness.FOLLOWED.get(client)
    for feed in feeds:
        changed = feed in documents or any(d.startswith(f"{feed}/archive/") for d in documents)
        if changed and follows.pushed_formats(members, feed):
            store.fill_arrival(pipe, feed, story_id, settings.websub_diff_seconds)


def _keep_diffs(
    client: Any,
    document: str,
    spec: FeedSpec,
    shown: list[Story],
    page: Page,
    etags: dict[str, str],
    pushed: tuple[str, ...],
    settings: Settings,
    load: Callable[[list[str]], list[Story]],
) -> None:
    """Before a change is announced: for each format WebSub subscribers follow, keep what their
    push carries, the entries new since the last announced render and the stories that arrived
    since below them (``diffs``), for ``SYNDICATE_WEBSUB_DIFF_SECONDS``; and record this
    render's entries for the next diff. ``pushed``: the formats WebSub subscribers follow,
    each of them among those rendered (``follows.eager_formats``)."""
    if not pushed or settings.websub_diff_seconds <= 0:
        return  # nobody is pushed this feed (a later diff is then taken against older entries)
    pipe = client.pipeline(transaction=False)
    previous, arrived = store.take_for_diff(client, document)
    in_document = {story.id for story in shown}
    below = load([i for i in dict.fromkeys(arrived) if i not in in_document]) if arrived else []
    change = diffs.diff(previous, shown, page.tombstones, below)
    if change is not None:
        bodies = render_document(
            spec,
            change.stories,
            Page(tombstones=change.tombstones),
            max_bytes=settings.feed_max_bytes,
            formats=pushed,
        )
        for fmt in pushed:
            store.fill_diff(
                pipe, document, fmt, etags[fmt], bodies[fmt], settings.websub_diff_seconds
            )
    store.fill_announced_entries(pipe, document, diffs.marks(shown, page.tombstones))
    pipe.execute()


def _announced(document: str, members: frozenset[str] | None, settings: Settings) -> bool:
    """Are this document's changes announced (``feed.updated``)? A feed's subscription
    document (never an archive page) when it renders at once (``eagerness``: someone follows
    the feed); a feed nobody follows changes silently, and its first render once followed
    announces what it holds then (its stored ETags differ from the last announced)."""
    if catalog.split_document_id(document)[1] is not None:
        return False
    return eagerness.is_eager(document, members, settings)


def _to_announce(client: Any, document: str, etags: dict[str, str], changed: list[str]) -> bool:
    """Whether ``feed.updated`` is due: the render changed the stored bytes, or the stored
    bytes (the ones this render made) were never announced: a change stored by a render whose
    send failed (Redis away, a worker killed) is announced by the next render of the feed. A
    render fenced off as stale stored nothing, and announces nothing. Announcing bytes twice
    (a feed first rendered before this record existed) is harmless: the update's id, and so
    its deliveries' ids, derive from the ETags, and publish creates a delivery once."""
    if changed:
        return True
    announced = store.load_announced(client, document) or {}
    if {fmt: announced.get(fmt) for fmt in etags} == etags:
        return False
    return store.stored_etags(client, document, tuple(etags)) == etags


def _save(
    client: Any,
    document: str,
    fmt: str,
    body: bytes,
    updated: datetime,
    claim: int | None,
    stored: store.Stored,
) -> bool:
    """Store one format with its Last-Modified (``documents.last_modified``)."""
    modified = last_modified(updated, stored.last_modified)
    return store.save_feed(
        client, document, fmt, body, modified, CONTENT_TYPES[fmt], claim=claim, stored=stored
    )


# --- at worker start --------------------------------------------------------------------------


def reconcile(settings: Settings | None = None) -> list[str]:
    """Bring render's indexes in line with the stories and the named feeds of the settings:
    build the indexes once (an upgrade, or a store without them), rebuild a named feed whose
    filter changed, drop named feeds no longer configured. Returns the feed names that exist."""
    settings = settings or get_settings()
    client = get_redis()
    index = Index(client)
    named = named_feeds(settings)
    now = datetime.now(UTC)
    with client.lock(keys.render_startup_lock(), timeout=600, blocking_timeout=600):
        state = {text(k): text(v) for k, v in client.hgetall(keys.render_state()).items()}
        index.register(catalog.ALL, now)
        if state.get("index_version") != INDEX_VERSION:
            _migrate_legacy_keys(index)
            _reindex(index, settings, named, only=None)
            client.hset(keys.render_state(), "index_version", INDEX_VERSION)
            state = {"index_version": INDEX_VERSION}
        configured = {feed.name: feed for feed in named}
        for feed in named:
            index.register(catalog.named_info(feed), now)
            if state.get(f"named:{feed.name}") != feed.fingerprint():
                _drop(index, feed.name)
                index.register(catalog.named_info(feed), now)
                _reindex(index, settings, named, only=feed)
                client.hset(keys.render_state(), f"named:{feed.name}", feed.fingerprint())
        for key in state:
            name = key.removeprefix("named:")
            if key.startswith("named:") and name not in configured:
                _drop(index, name)
                client.hdel(keys.render_state(), key)
    return [info.name for info in index.all_feeds()]


def _drop(index: Index, name: str) -> None:
    for document in index.drop_feed(name):
        store.delete_feed(index.client, document, FORMATS)
        index.client.hdel(keys.feeds_partial(), document)


def _reindex(
    index: Index, settings: Settings, named: tuple[NamedFeed, ...], only: NamedFeed | None
) -> None:
    """Index every stored story, oldest first (a named feed alone when ``only`` is given), and
    mark every document that changed (archive pages included) due now."""
    count = 0
    documents: set[str] = set()
    for story in stories_oldest_first(index.client):
        feeds = catalog.memberships(story, named)
        if only is not None:
            if only.name not in feeds:
                continue
            current = {text(n) for n in index.client.smembers(keys.story_feeds(story.id))}
            feeds = {n: i for n, i in feeds.items() if n in current or n == only.name}
        documents |= index.move_story(
            story, feeds, page_size=settings.feed_size, tombstone_expires=0
        )
        count += 1
    DirtySet(index.client).mark(documents, 0)
    log.info("indexed %d stories%s", count, f" for {only.name}" if only else "")


def _migrate_legacy_keys(index: Index) -> None:
    """An upgrade from index version 1: keep the pending marks and the tombstones in force
    (moved under the hash-tagged keys), drop the old per-feed indexes (rebuilt by ``_reindex``)."""
    client = index.client
    legacy_dirty = keys.legacy_feeds_dirty()
    marks: list[Any] = client.zrange(legacy_dirty, 0, -1, withscores=True)
    if marks:
        client.zadd(keys.feeds_dirty(), {text(m): float(score) for m, score in marks}, lt=True)
    client.delete(legacy_dirty)
    for info in index.all_feeds():
        legacy = {part: keys.legacy_feed_index(info.name, part) for part in _LEGACY_PARTS}
        tombstones: list[Any] = client.zrange(legacy["tombstones"], 0, -1, withscores=True)
        if tombstones:
            moved = {text(story_id): float(expiry) for story_id, expiry in tombstones}
            client.zadd(keys.feed_tombstones(info.name), moved)
        client.delete(*legacy.values())


_LEGACY_PARTS = ("entries", "seq", "pages", "tombstones")


def render_all_feeds() -> None:
    """At worker start: reconcile the indexes, then mark every subscription document due now so
    a fresh service serves (possibly empty) feeds at once and new code re-renders them."""
    feeds = reconcile()
    DirtySet(get_redis()).mark(feeds, 0)


# --- the pump runs inside every render worker ---------------------------------------------------


def render_due(document: str, claim: int) -> Rendered:
    """The pump's render: a followed feed in its followers' formats (``_formats``)."""
    return render_feed_document(document, claim, whole=False)


_pump: Pump | None = None


@worker_ready.connect
def _start_pump(**_: Any) -> None:
    global _pump
    window = get_settings().feed_render_window
    _pump = Pump(get_redis, render_due, poll=max(0.01, min(0.05, window / 5))).start()
    log.info("render pump started (window %ss)", window)


@worker_shutdown.connect
def _stop_pump(**_: Any) -> None:
    if _pump is not None:
        _pump.stop()
