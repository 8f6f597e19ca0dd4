"""Every Redis key the service uses, and nothing else builds one.

All keys live under one prefix so that a shared Redis can host Syndicate beside other things and an
operator can see at a glance what is ours. Celery's own broker keys go under ``PREFIX + "celery:"``
(kombu's ``global_keyprefix``).
"""

from __future__ import annotations

PREFIX = "syndicate:"


def celery_prefix() -> str:
    """Prefix for the broker's queues and bookkeeping (kombu ``global_keyprefix``)."""
    return f"{PREFIX}celery:"


#: kombu's redis transport keeps a message of priority ``p`` > 0 in a list of its own
KOMBU_PRIORITY_SEP = "\x06\x16"


def celery_queue(queue: str, priority: int | str = 0) -> str:
    """List: the broker's messages waiting in one Celery queue (kombu's redis transport; a
    priority above 0 has its own list, ``queue`` + separator + priority)."""
    base = f"{celery_prefix()}{queue}"
    return f"{base}{KOMBU_PRIORITY_SEP}{priority}" if priority else base


def celery_unacked() -> str:
    """Hash: messages handed to a worker and not yet acknowledged (kombu ``unacked_key``)."""
    return f"{celery_prefix()}unacked"


# --- ingest: raw copy as received --------------------------------------------------------------


def wire(wire_id: str) -> str:
    """Hash: the raw bytes of one accepted item and what we know about it."""
    return f"{PREFIX}wire:{wire_id}"


def wire_received() -> str:
    """Sorted set of wire ids by time received (newest last)."""
    return f"{PREFIX}wire:received"


def wire_outbox() -> str:
    """Sorted set: wire ids stored but not yet through ingest, scored by when their task was
    last sent. The scheduler's sweeper sends the task again for an entry left too long (the
    transactional outbox of ``POST /v1/wire`` and of sources)."""
    return f"{PREFIX}wire:outbox"


def events_outbox(consumer: str) -> str:
    """Sorted set: story event ids sent to ``consumer`` (``render``, ``publish``) and not yet
    handled by it, scored by when they were last sent; the scheduler's sweeper sends those
    left too long again (a message lost with a killed worker)."""
    return f"{PREFIX}events:outbox:{consumer}"


def publish_events() -> str:
    """List: story events (JSON) waiting for publish's drainers, newest at the left
    (``shared.publish_events``). Hash-tagged with the drainers' flags: one cluster slot."""
    return f"{PREFIX}{{publish-events}}:waiting"


def publish_drainer(slot: int) -> str:
    """String with a short TTL: drainer ``slot`` of publish's story events is running or woken
    (``shared.publish_events``)."""
    return f"{PREFIX}{{publish-events}}:drainer:{slot}"


def idempotency(token_fingerprint: str, key: str) -> str:
    """String: the wire id an ``Idempotency-Key`` produced, per token."""
    return f"{PREFIX}idempotency:{token_fingerprint}:{key}"


def quarantine() -> str:
    """Sorted set of wire ids that could not be parsed, by time quarantined."""
    return f"{PREFIX}quarantine"


def credit_lines_unparsed() -> str:
    """Counter: story versions stored with a credit line kept verbatim (it could not be parsed)."""
    return f"{PREFIX}ingest:credit-lines-unparsed"


# --- stories -----------------------------------------------------------------------------------


def story(story_id: str) -> str:
    """String: the latest version of a story, as Story JSON."""
    return f"{PREFIX}story:{story_id}"


def story_versions(story_id: str) -> str:
    """List: every version of a story, oldest first, as Story JSON."""
    return f"{PREFIX}story:{story_id}:versions"


def story_lock(story_id: str) -> str:
    """Lock held while a new version of a story is decided and written."""
    return f"{PREFIX}story:{story_id}:lock"


def stories_by_time() -> str:
    """Sorted set of story ids scored by first publication time (epoch seconds)."""
    return f"{PREFIX}stories:by-time"


def event(event_id: str) -> str:
    """String: an emitted event (JSON), kept so deliveries and replays can find it."""
    return f"{PREFIX}event:{event_id}"


# --- workers -----------------------------------------------------------------------------------


def worker_heartbeat(queue: str, hostname: str) -> str:
    """String with a short TTL, refreshed by each live worker of ``queue``."""
    return f"{PREFIX}worker:{queue}:{hostname}"


def worker_heartbeat_pattern(queue: str) -> str:
    return f"{PREFIX}worker:{queue}:*"


# --- render ------------------------------------------------------------------------------------


def feed(name: str, fmt: str) -> str:
    """Hash: the rendered bytes of one feed in one format, with ETag and Last-Modified."""
    return f"{PREFIX}feed:{name}:{fmt}"


def feed_announced(name: str) -> str:
    """Hash: per format, the ETag of the last ``feed.updated`` render sent for a feed (a change
    whose announcement was lost is announced by the next render)."""
    return f"{PREFIX}feed:{name}:announced"


def feed_announced_entries(name: str) -> str:
    """String: the entries (``story id@version``, space-separated) of the last announced render
    of a feed's subscription document, what the next WebSub diff is taken against."""
    return f"{PREFIX}feed:{name}:announced-entries"


def feed_arrivals(name: str) -> str:
    """List (expiring): ids of stories that joined or changed in a feed WebSub subscribers are
    pushed since its last announced render, wherever they landed (a late story can go straight
    to an archive page): the next diff carries them."""
    return f"{PREFIX}feed:{name}:arrivals"


def feed_diff(name: str, fmt: str, etag: str) -> str:
    """String (expiring): what a WebSub push of the render with ETag ``etag`` carries in one
    format: a document of the entries new or changed since the render announced before it."""
    return f"{PREFIX}feed:{name}:{fmt}:diff:{etag.strip(chr(34))}"


def feed_registry() -> str:
    """Hash: every feed that exists (name → JSON: kind, title, …); what ``GET /feeds`` lists."""
    return f"{PREFIX}render:feeds"


# Keys of one feed that a Lua script uses together carry the feed name as a hash tag
# (``{sections/world}``), so they live in one slot of a Redis Cluster.


def feed_entries(name: str) -> str:
    """Sorted set: story ids in one feed, scored by first publication (epoch seconds)."""
    return f"{PREFIX}render:feed:{{{name}}}:entries"


def feed_pages(name: str) -> str:
    """Sorted set: closed archive pages of one feed (label), scored by the newest date in each."""
    return f"{PREFIX}render:feed:{{{name}}}:pages"


def feed_tombstones(name: str) -> str:
    """Sorted set: story ids removed from one feed, scored by when their tombstone expires."""
    return f"{PREFIX}render:feed:{{{name}}}:tombstones"


def legacy_feed_index(name: str, part: str) -> str:
    """A per-feed index key as versions before the hash tags spelt it (migrated at start)."""
    return f"{PREFIX}render:feed:{name}:{part}"


def story_feeds(story_id: str) -> str:
    """Set: the feeds a story is in now (so an update knows which feeds it leaves)."""
    return f"{PREFIX}render:story:{story_id}:feeds"


def story_render_lock(story_id: str) -> str:
    """Lock held while render moves one story between feed indexes."""
    return f"{PREFIX}render:story:{story_id}:lock"


# The coalescing keys are used together by one Lua script: one hash tag, one slot.


def feeds_dirty() -> str:
    """Sorted set: feed documents waiting to render, scored by when they are due (epoch s)."""
    return f"{PREFIX}render:{{dirty}}"


def feeds_rendering() -> str:
    """Sorted set: documents a renderer holds now, scored by when its lease expires (epoch s)."""
    return f"{PREFIX}render:{{dirty}}:rendering"


def feeds_partial() -> str:
    """Hash: per subscription document rendered in its followed formats alone, when the other
    formats were first left behind (epoch s): they render ``SYNDICATE_FEED_LAZY_SECONDS`` later
    at the latest (decisions/0010-followed-formats.md)."""
    return f"{PREFIX}render:{{dirty}}:partial"


def feeds_followed() -> str:
    """Set: the feeds someone follows (written by publish, read by render): their names
    case-folded, ``*`` when a ``feed.updated`` webhook wants every feed, and ``#`` always (the
    record exists; without it render treats every feed as followed)."""
    return f"{PREFIX}feeds:followed"


def feed_claims() -> str:
    """Hash: per document, how many times it was claimed (the fencing token of a render)."""
    return f"{PREFIX}render:{{dirty}}:claims"


def legacy_feeds_dirty() -> str:
    """The dirty set as versions before the hash tags spelt it (migrated at start)."""
    return f"{PREFIX}render:dirty"


def render_state() -> str:
    """Hash: render's bookkeeping (index version, named-feed definitions in force)."""
    return f"{PREFIX}render:state"


def render_startup_lock() -> str:
    """Lock held by the render worker that reconciles the indexes at start."""
    return f"{PREFIX}render:startup-lock"


# --- metrics (shared by every process) -------------------------------------------------------


def metrics_registry() -> str:
    """Hash: metric name → its description (type, help, label names, buckets) as JSON."""
    return f"{PREFIX}metrics"


def metric(name: str) -> str:
    """Hash: the values of one metric, a field per label set (and bucket, for histograms)."""
    return f"{PREFIX}metrics:{name}"


# --- publish -----------------------------------------------------------------------------------


def subscription(subscription_id: str) -> str:
    """String: a webhook subscription as JSON."""
    return f"{PREFIX}subscription:{subscription_id}"


def subscriptions() -> str:
    """Sorted set of subscription ids by creation time."""
    return f"{PREFIX}subscriptions"


def subscription_deliveries(subscription_id: str) -> str:
    """Sorted set of delivery ids of one subscription by creation time."""
    return f"{PREFIX}subscription:{subscription_id}:deliveries"


def delivery(delivery_id: str) -> str:
    """String: one delivery (event to subscription) with all its attempts, as JSON."""
    return f"{PREFIX}delivery:{delivery_id}"


def delivery_lock(delivery_id: str) -> str:
    """Lock held by the worker making an attempt, so a redelivered task cannot double-send."""
    return f"{PREFIX}delivery:{delivery_id}:lock"


def deliveries_due() -> str:
    """Sorted set of delivery ids scored by when their next attempt is due (epoch seconds)."""
    return f"{PREFIX}deliveries:due"


def deliveries_dead() -> str:
    """Sorted set of dead-lettered delivery ids by time they gave up."""
    return f"{PREFIX}deliveries:dead"


def deliveries_in_flight(subscription_id: str) -> str:
    """Sorted set: deliveries of one subscription being attempted now, scored by lease expiry."""
    return f"{PREFIX}subscription:{subscription_id}:in-flight"


def deliveries_waiting(subscription_id: str) -> str:
    """Sorted set: deliveries of one subscription waiting for an in-flight slot, by arrival."""
    return f"{PREFIX}subscription:{subscription_id}:waiting"


def subscription_failing_since(subscription_id: str) -> str:
    """String: when the subscription's current run of failed attempts began (epoch seconds)."""
    return f"{PREFIX}subscription:{subscription_id}:failing-since"


def delivery_next(delivery_id: str) -> str:
    """String: the delivery of the story's next version to the same subscription (it waits)."""
    return f"{PREFIX}delivery:{delivery_id}:next"


def story_recipients(story_id: str) -> str:
    """Hash: subscription id → its delivery of the story's latest version fanned out so far."""
    return f"{PREFIX}story:{story_id}:recipients"


def story_fanned_out(story_id: str) -> str:
    """Set: versions of a story whose event publish has fanned out to subscriptions."""
    return f"{PREFIX}story:{story_id}:fanned-out"


def fanouts_due() -> str:
    """Sorted set: story event ids waiting for the previous version's fan-out, by next check."""
    return f"{PREFIX}fanouts:due"


def fanouts_parked() -> str:
    """Hash: story event id → when its fan-out first had to wait (epoch seconds)."""
    return f"{PREFIX}fanouts:parked"


def feed_update(update_id: str) -> str:
    """String: a ``feed.updated`` event (FeedUpdate JSON) as publish received it."""
    return f"{PREFIX}feed-update:{update_id}"


# --- publish: the WebSub hub -------------------------------------------------------------------


def websub_subscription(subscription_id: str) -> str:
    """String: an active (verified) WebSub subscription as JSON."""
    return f"{PREFIX}websub:subscription:{subscription_id}"


def websub_topic(feed: str, fmt: str) -> str:
    """Sorted set: WebSub subscription ids of one topic, scored by lease expiry (epoch seconds)."""
    return f"{PREFIX}websub:topic:{feed}:{fmt}"


def websub_topics() -> str:
    """Set: every topic (``feed:fmt``) that has had a WebSub subscriber."""
    return f"{PREFIX}websub:topics"


def websub_intent(intent_id: str) -> str:
    """String: a subscribe/unsubscribe request waiting for (or done with) verification."""
    return f"{PREFIX}websub:intent:{intent_id}"


def websub_latest_intent(subscription_id: str) -> str:
    """String: the newest intent id for a (topic, callback) pair: only it may take effect."""
    return f"{PREFIX}websub:subscription:{subscription_id}:latest-intent"


# --- security: rate limits (issue #7) ----------------------------------------------------------


def rate_limit(client: str) -> str:
    """String with a TTL: one client's GCRA theoretical arrival time (µs), shared by every API
    process. ``client`` is ``token:{fingerprint}`` or ``addr:{address}``."""
    return f"{PREFIX}ratelimit:{client}"


# --- ingest: upstream sources (issue #6) ------------------------------------------------------


def source(source_id: str) -> str:
    """Hash: one source (``config``, poll ``state``, ``websub`` as JSON; ``taken`` counter).
    Every per-source key has the source id as its Redis Cluster hash tag (one slot: a source's
    keys change together); the global sets below are never in a transaction with them."""
    return f"{PREFIX}source:{{{source_id}}}"


def sources() -> str:
    """Sorted set of source ids by creation time."""
    return f"{PREFIX}sources"


def sources_due() -> str:
    """Sorted set: enabled source ids scored by when to poll them next (epoch seconds, Redis
    clock). A claimed source's score is a lease ahead until its poll records the real time."""
    return f"{PREFIX}sources:due"


def source_poll_lock(source_id: str) -> str:
    """Lock held by the scheduler polling a source (one poll of a source at a time)."""
    return f"{PREFIX}source:{{{source_id}}}:poll-lock"


def source_seen(source_id: str) -> str:
    """Hash: entry key (``guid:…``, ``link:…``, ``hash:…``) → hash of the entry last taken."""
    return f"{PREFIX}source:{{{source_id}}}:seen"


def source_seen_at(source_id: str) -> str:
    """Sorted set: entry keys by when a poll last saw them (the oldest are forgotten first)."""
    return f"{PREFIX}source:{{{source_id}}}:seen-at"


def source_items(source_id: str) -> str:
    """Sorted set: wire ids a source produced, by time taken (capped)."""
    return f"{PREFIX}source:{{{source_id}}}:items"


def source_files(source_id: str) -> str:
    """Hash: drop-folder file name → what the last poll saw of it (size, mtime, since when)."""
    return f"{PREFIX}source:{{{source_id}}}:files"


def source_untagged(source_id: str, part: str = "") -> str:
    """A per-source key as it was spelt before the hash tag (``part``: ``""`` for the source's
    hash, ``seen``, ``seen-at``, ``items``, ``files``); schedulers move such keys once, at start."""
    return f"{PREFIX}source:{source_id}" + (f":{part}" if part else "")
