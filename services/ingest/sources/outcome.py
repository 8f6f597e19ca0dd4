"""What one poll did (``Report``), and the bookkeeping of a failed poll, shared by the feed and
folder polls."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import redis

from services.ingest.sources.model import PollState, Source
from services.ingest.sources.policy import Plan, plan_failure
from shared.settings import Settings

Clock = Callable[[redis.Redis], datetime]


@dataclass
class Report:
    """What one poll did (printed by ``syndicate sources poll``, logged by the poller)."""

    source_id: str
    outcome: str
    status: int | None = None
    taken: int = 0
    changed: int = 0
    error: str | None = None
    next_poll_at: datetime | None = None
    next_poll_reason: str | None = None
    moved_to: str | None = None
    websub: str | None = None
    failed_files: list[str] = field(default_factory=list)


def jitter(rng: random.Random) -> float:
    return rng.uniform(-0.1, 0.1)


def failure(
    report: Report,
    state: PollState,
    source: Source,
    settings: Settings,
    now: datetime,
    rng: random.Random,
    error: str,
    *,
    asked: float | None = None,
) -> tuple[Report, Plan, PollState]:
    """A failed poll: the error recorded, the failure run longer, the next poll backed off
    (never sooner than ``asked``, a Retry-After)."""
    report.error = error
    plan = plan_failure(
        now,
        source.interval_seconds,
        state.failures,
        settings.source_max_delay_seconds,
        retry_after_seconds=asked,
        jitter=jitter(rng),
    )
    state = state.model_copy(
        update={
            "failures": plan.failures,
            "last_outcome": report.outcome,
            "last_status": report.status,
            "last_error": error,
            "last_error_at": now,
        }
    )
    return report, plan, state
