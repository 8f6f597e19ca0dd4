"""Delivery logic, pure: who gets an event, what body they get, what an answer means, when next.

Answers: 2xx succeeded; 410 Gone disables the subscription; 429/503 with Retry-After push the next
attempt later (clamped to the schedule's longest delay); anything else, a timeout or a refused
connection is a failure to retry on the schedule, then the delivery is dead.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from shared.ids import derived_id, stable_json
from shared.models import Event, Subscription

Verdict = Literal["succeeded", "retry", "gone", "dead"]


def matches(subscription: Subscription, event: Event) -> bool:
    """Does ``subscription`` want ``event``? Empty filter lists match everything."""
    if subscription.disabled or event.type not in subscription.events:
        return False
    flt = subscription.filter

    def hit(wanted: list[str], have: list[str]) -> bool:
        if not wanted:
            return True
        have_folded = {h.casefold() for h in have}
        return any(w.casefold() in have_folded for w in wanted)

    return (
        hit(flt.sections, event.sections)
        and hit(flt.agencies, event.agencies)
        and hit(flt.contributors, event.contributors)
    )


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
