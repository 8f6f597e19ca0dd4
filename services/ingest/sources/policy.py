"""When to poll a source next, and what to send: the polite-polling rules, pure.

Nothing here reads a clock, Redis or the network: ``now``, the answer's status and headers, the
source's interval and the settings' caps come in; a ``Plan`` (when, and why) goes out.

- success (``200``, ``304``): the source's interval, or longer when ``Cache-Control: max-age``
  (minus ``Age``) says the document stays fresh longer; while a WebSub hub pushes to us, the
  slow safety-net interval;
- ``429`` / ``503``: a failure, and never sooner than ``Retry-After`` says;
- any other failure: exponential backoff, ``interval × 2^failures`` with ±10% jitter;
- ``410 Gone``: the source is disabled (no plan);
- caps: ``max-age``, ``Retry-After`` and backoff wait at most ``max_delay`` (a longer interval of
  the source's own still stands). A success ends the failure run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from services.ingest.sources.model import Outcome

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?([0-9]+)\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\s*(?:[,=]|$)", re.IGNORECASE)
#: a failure run longer than this no longer doubles the wait (2^20 intervals is cap anyway)
_MAX_EXPONENT = 20
#: delta-seconds in a header (``max-age``, ``Age``, ``Retry-After``): ASCII digits only (``str``
#: methods and ``int`` also take ``²`` or ``٣``); more than ten digits is read as this many
_SECONDS = re.compile(r"[0-9]+")
HUGE_SECONDS = 9_999_999_999
#: no plan is ever further away than this (a year), whatever an answer or a stored interval says
LONGEST_WAIT_SECONDS = 366 * 86400.0


@dataclass(frozen=True)
class Plan:
    """The next poll: when, why, and the failure run it belongs to."""

    next_at: datetime
    reason: str
    failures: int


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def classify(status: int) -> Outcome:
    """What an HTTP status means for a poll."""
    if status == 304:
        return "not-modified"
    if 200 <= status < 300:
        return "ok"
    if status in (429, 503):
        return "throttled"
    if status == 410:
        return "gone"
    return "error"


def conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    """``If-None-Match`` / ``If-Modified-Since`` from the validators the last ``200`` gave."""
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def delta_seconds(value: str | None) -> int | None:
    """A header's delta-seconds (RFC 9110 §1.2.1: ``1*DIGIT``), clamped; ``None`` if it is not one."""
    text = (value or "").strip()
    if not _SECONDS.fullmatch(text):
        return None
    return HUGE_SECONDS if len(text) > len(str(HUGE_SECONDS)) else min(int(text), HUGE_SECONDS)


def _after(now: datetime, seconds: float) -> datetime:
    """``now`` plus a wait that can never overflow a ``datetime``."""
    return now + timedelta(seconds=min(max(seconds, 0.0), LONGEST_WAIT_SECONDS))


def fresh_for(headers: Mapping[str, str]) -> float | None:
    """Seconds the answer stays fresh by ``Cache-Control: max-age`` (less its ``Age``), or
    ``None`` when it does not say (``no-cache``/``no-store`` say nothing worth waiting for)."""
    control = header(headers, "cache-control") or ""
    if not control or _NO_CACHE.search(control):
        return None
    match = _MAX_AGE.search(control)
    if match is None:
        return None
    max_age = delta_seconds(match.group(1)) or 0
    age = delta_seconds(header(headers, "age")) or 0
    return float(max(0, max_age - age))


def retry_after(value: str | None, now: datetime) -> float | None:
    """A ``Retry-After`` header as seconds from ``now`` (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    seconds = delta_seconds(value)
    if seconds is not None:
        return float(seconds)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):  # a year of 20 digits: Overflow
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def backoff(interval: float, failures: int, max_delay: float, jitter: float = 0.0) -> float:
    """The wait after the ``failures``-th failure in a row: ``interval × 2^failures`` capped at
    ``max_delay`` (or the interval, if longer), then ``jitter`` (a fraction, ±0.1) applied."""
    base = float(interval) * 2.0 ** min(max(failures, 1), _MAX_EXPONENT)
    return float(min(base, max(max_delay, interval)) * (1.0 + jitter))


def plan_success(
    now: datetime,
    interval: float,
    max_delay: float,
    *,
    fresh: float | None = None,
    safety_net: float | None = None,
) -> Plan:
    """After a ``200``/``304``: the interval, longer if the document stays fresh longer (capped),
    or the safety-net interval while a hub pushes to us."""
    delay, reason = float(interval), "interval"
    if fresh is not None and min(fresh, max_delay) > delay:
        delay, reason = min(fresh, max_delay), "cache-control max-age"
    if safety_net is not None and safety_net > delay:
        delay, reason = float(safety_net), "websub safety net"
    return Plan(_after(now, delay), reason, 0)


def plan_failure(
    now: datetime,
    interval: float,
    failures_before: int,
    max_delay: float,
    *,
    retry_after_seconds: float | None = None,
    jitter: float = 0.0,
) -> Plan:
    """After a failure: exponential backoff, never sooner than ``Retry-After`` (capped)."""
    failures = failures_before + 1
    delay, reason = backoff(interval, failures, max_delay, jitter), f"backoff ({failures} failed)"
    if retry_after_seconds is not None:
        asked = min(retry_after_seconds, max(max_delay, interval))
        if asked > delay:
            delay, reason = asked, "retry-after"
    return Plan(_after(now, delay), reason, failures)


def permanent_url(redirects: tuple[tuple[int, str], ...]) -> str | None:
    """Where the source now lives: the last URL reached by permanent redirects (``301``,
    ``308``) from the start; ``None`` when the first hop was not permanent."""
    moved: str | None = None
    for status, location in redirects:
        if status not in (301, 308):
            break
        moved = location
    return moved
