"""Publish's metrics: every attempt by outcome and attempt number, and how long deliveries take.

Written in one pipelined round trip per attempt (``shared.metrics.record``), after the attempt's
record is written (an attempt that finished too late to be recorded is not counted either).
"""

from __future__ import annotations

from datetime import datetime

from services.publish.deliveries import Outcome
from shared import metrics
from shared.models import Delivery

#: ``outcome``: delivered (2xx), retrying (failed; tried again on the schedule), throttled (429
#: or 503 with Retry-After; tried again), dead (failed and gave up: dead-lettered), gone (410:
#: subscription disabled), failed (not sent: subscription deleted or disabled, event gone),
#: superseded (WebSub: newer bytes went out instead). ``attempt``: the attempt's number in its
#: run of the retry schedule (1…its length; a replay starts a new run), 0 when nothing was sent.
DELIVERIES = metrics.Counter(
    "syndicate_deliveries_total",
    "Delivery attempts by channel (webhook, websub), outcome and attempt number.",
    ("channel", "outcome", "attempt"),
)
REQUEST_SECONDS = metrics.Histogram(
    "syndicate_delivery_request_seconds",
    "Time of one delivery request, connection to answer (whatever the answer).",
    ("channel",),
)
LATENCY_SECONDS = metrics.Histogram(
    "syndicate_delivery_latency_seconds",
    "From a delivery's creation (its event fanned out) to its successful attempt, retries "
    "included.",
    ("channel",),
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0,
             3600.0, 21600.0, 86400.0),
)  # fmt: skip

_OUTCOMES = {"succeeded": "delivered", "retry": "retrying", "dead": "dead", "gone": "gone"}


def outcome_label(outcome: Outcome, status: int | None) -> str:
    """The ``outcome`` label of an attempt's verdict (pure)."""
    if outcome.verdict == "retry" and status in (429, 503):
        return "throttled"
    return _OUTCOMES[outcome.verdict]


def attempted(
    delivery: Delivery,
    outcome: Outcome,
    status: int | None,
    attempt: int,
    request_seconds: float,
    ended: datetime,
) -> list[metrics.Write]:
    """The writes for one attempt made (``attempt``: its number in the current run)."""
    channel = delivery.channel
    label = outcome_label(outcome, status)
    writes = [
        DELIVERIES.increment((channel, label, str(attempt))),
        REQUEST_SECONDS.observation((channel,), request_seconds),
    ]
    if label == "delivered":
        latency = max(0.0, (ended - delivery.created_at).total_seconds())
        writes.append(LATENCY_SECONDS.observation((channel,), latency))
    return writes


def stopped(delivery: Delivery, state: str) -> metrics.Write:
    """The write for a delivery that ended without a request (``state``: failed, superseded)."""
    return DELIVERIES.increment((delivery.channel, state, "0"))
