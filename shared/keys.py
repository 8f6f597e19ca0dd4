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


# --- ingest: raw copy as received --------------------------------------------------------------


def wire(wire_id: str) -> str:
    """Hash: the raw bytes of one accepted item and what we know about it."""
    return f"{PREFIX}wire:{wire_id}"


def wire_received() -> str:
    """Sorted set of wire ids by time received (newest last)."""
    return f"{PREFIX}wire:received"


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
