"""Delivery logic, pure: who gets an event, what body they get, what an answer means, when next.

Answers: 2xx succeeded; 410 Gone disables the subscription; 429/503 with Retry-After push the next
attempt later (clamped to the schedule's longest delay); anything else, a timeout or a refused
connection is a failure to retry on the schedule, then the delivery is dead.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from shared import named_feeds
from shared.ids import derived_id, stable_json
from shared.models import Event, FeedUpdate, Story, Subscription

Verdict = Literal["succeeded", "retry", "gone", "dead"]

#: feed name prefixes whose membership publish can tell from an event alone
_FEED_KINDS = {"sections": "sections", "agencies": "agencies", "contributors": "contributors"}


def story_in_feed(
    feed: str,
    event: Event,
    story: Story | None = None,
    named: Mapping[str, named_feeds.NamedFeed] | None = None,
) -> bool:
    """Does the story of ``event`` appear in the feed named ``feed``?

    ``all`` holds every story; ``sections/{slug}``, ``agencies/{slug}`` and
    ``contributors/{slug}`` hold the stories with that section, agency or contributor; a named
    feed of the settings (``named``) holds the stories its filter matches (``story``: the
    version the event is about; without it a named feed matches nothing). Names compare as
    ``GET /feeds/{name}.rss`` does.
    """
    name = feed.strip().strip("/").casefold()
    if name == "all":
        return True
    if named and name in named:
        return story is not None and named_feeds.matches(named[name], story)
    kind, _, value = name.partition("/")
    field = _FEED_KINDS.get(kind)
    if field is None or not value:
        return False
    have: list[str] = getattr(event, field)
    slug = named_feeds.name_slug
    return slug(value) in {slug(item) for item in have}


def matches(
    subscription: Subscription,
    event: Event,
    story: Story | None = None,
    named: Mapping[str, named_feeds.NamedFeed] | None = None,
) -> bool:
    """Does ``subscription`` want ``event``? Empty filter lists match everything.

    Within a list any value matches (or); across lists every non-empty list must match (and).
    ``story`` (the event's version) and ``named`` (the named feeds of the settings) are what a
    ``feeds`` filter naming a configured feed is judged by.
    """
    if subscription.disabled or event.type not in subscription.events:
        return False
    flt = subscription.filter

    def hit(wanted: list[str], have: list[str]) -> bool:
        if not wanted:
            return True
        have_folded = {h.casefold() for h in have}
        return any(w.casefold() in have_folded for w in wanted)

    in_feeds = not flt.feeds or any(story_in_feed(feed, event, story, named) for feed in flt.feeds)
    return (
        hit(flt.sections, event.sections)
        and hit(flt.agencies, event.agencies)
        and hit(flt.contributors, event.contributors)
        and in_feeds
    )


def follows_up(subscription: Subscription, event: Event) -> bool:
    """Does a subscription that was sent an earlier version of the story get this event?

    Updates, corrections and kills reach every subscription that was sent the story, whatever
    its filter says now, as long as it is enabled and asked for that type of event.
    """
    return (
        event.type != "story.published"
        and not subscription.disabled
        and event.type in subscription.events
    )


def matches_feed_update(subscription: Subscription, update: FeedUpdate) -> bool:
    """``feed.updated`` goes to subscriptions that asked for it; only the ``feeds`` filter
    applies (empty: every feed), compared case-insensitively."""
    if subscription.disabled or "feed.updated" not in subscription.events:
        return False
    wanted = {feed.strip().strip("/").casefold() for feed in subscription.filter.feeds}
    return not wanted or update.feed.casefold() in wanted


def feed_update_payload(update: FeedUpdate) -> bytes:
    """The ``feed.updated`` webhook body: the feed's name, URLs and ETags by format."""
    data = {"feed": update.feed, "urls": update.urls, "etags": update.etags}
    return stable_json(
        {"type": update.type, "timestamp": update.timestamp.isoformat(), "data": data}
    )


def signing_secrets(subscription: Subscription, now: datetime) -> list[str]:
    """Every secret that signs now: the current one, then rotated ones still in their grace."""
    retired = [old.secret for old in subscription.previous_secrets if old.expires_at > now]
    return [subscription.secret, *retired]


def disable_reason(
    failing_since: datetime | None, now: datetime, limit_seconds: float
) -> str | None:
    """Why a subscription must be disabled, or ``None``: every delivery has failed since
    ``failing_since`` and that is at least ``limit_seconds`` ago."""
    if failing_since is None or now - failing_since < timedelta(seconds=limit_seconds):
        return None
    days = limit_seconds / 86400
    span = f"{days:g} days" if days >= 1 else f"{limit_seconds:g} s"
    return (
        f"every delivery has failed since {failing_since.isoformat(timespec='seconds')} "
        f"(over {span}, SYNDICATE_WEBHOOK_DISABLE_AFTER_SECONDS); "
        'fix the endpoint, then PATCH {"disabled": false}'
    )


def version_to_await(
    previous_version: int | None,
    fanned_out: Callable[[int], bool],
    has_event: Callable[[int], bool],
) -> int | None:
    """Which earlier version's fan-out a story event must wait for, or ``None`` to go ahead.

    The nearest earlier version that has an event (a withheld first version, say, has none and
    can never fan out), unless that one has fanned out already. Waiting for it, however long,
    is what makes an update find every subscription that was sent the story.
    """
    for version in range(previous_version or 0, 0, -1):
        if fanned_out(version):
            return None
        if has_event(version):
            return version
    return None


def delivery_id_for(event_id: str, subscription_id: str) -> str:
    """Deterministic: the same event to the same subscription is one delivery, however often
    the task that creates it runs."""
    return derived_id("dlv", event_id, subscription_id)


def payload(event: Event, data: dict[str, Any]) -> bytes:
    """The webhook body: compact, stable JSON bytes of ``{"type", "timestamp", "data"}``."""
    return stable_json({"type": event.type, "timestamp": event.timestamp.isoformat(), "data": data})


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    delay: float | None = None  # seconds until the next attempt, for ``retry``
    reason: str | None = None


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A Retry-After header as seconds from ``now`` (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - now).total_seconds())


def first_delay(schedule: list[float], rng: random.Random | None = None) -> float:
    """Seconds before the first attempt of a run (a new delivery, or a replay): the schedule's
    first value, with jitter (Svix's schedule starts with 0: at once)."""
    return next_delay(0, schedule, rng) or 0.0


def next_delay(
    attempts_made: int, schedule: list[float], rng: random.Random | None = None
) -> float | None:
    """Seconds before attempt ``attempts_made + 1``, with ±10% jitter; ``None`` when exhausted."""
    if attempts_made >= len(schedule):
        return None
    base = schedule[attempts_made]
    jitter = (rng or random.Random()).uniform(-0.1, 0.1) * base  # noqa: S311 - not crypto
    return max(0.0, base + jitter)


def judge(
    status: int | None,
    headers: dict[str, str] | None,
    attempts_made: int,
    schedule: list[float],
    now: datetime,
    rng: random.Random | None = None,
) -> Outcome:
    """What an attempt's answer (``status`` ``None``: no answer at all) means for the delivery."""
    if status is not None and 200 <= status < 300:
        return Outcome("succeeded")
    if status == 410:
        return Outcome("gone", reason="the target answered 410 Gone")
    delay = next_delay(attempts_made, schedule, rng)
    if delay is None:
        return Outcome("dead", reason=f"gave up after {attempts_made} attempts")
    if status in (429, 503) and headers:
        lowered = {k.lower(): v for k, v in headers.items()}
        asked = retry_after_seconds(lowered.get("retry-after"), now)
        if asked is not None:
            delay = min(max(delay, asked), max(schedule))
    return Outcome("retry", delay=delay)
