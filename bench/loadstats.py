"""Pure figures of the load bench: percentiles, per-second buckets, and the step search.

No I/O here, so the rules that decide what the bench reports are unit-tested
(``tests/unit/test_bench_loadstats.py``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-quantile (0..1) by the nearest-rank method; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, float | int]:
    """Count and p50/p95/p99/max in milliseconds."""
    return {
        "count": len(seconds),
        "p50_ms": round(percentile(seconds, 0.50) * 1000, 1),
        "p95_ms": round(percentile(seconds, 0.95) * 1000, 1),
        "p99_ms": round(percentile(seconds, 0.99) * 1000, 1),
        "max_ms": round(max(seconds, default=math.nan) * 1000, 1),
    }


def per_second(times: Iterable[float], origin: float) -> dict[int, int]:
    """How many events fell in each whole second after ``origin``."""
    counts: dict[int, int] = defaultdict(int)
    for t in times:
        counts[int(t - origin)] += 1
    return dict(counts)


def latency_buckets(
    pairs: Iterable[tuple[float, float]], origin: float
) -> dict[int, tuple[float, float]]:
    """(p50, p99) of latency per whole second of the *start* time; pairs are (start, latency)."""
    grouped: dict[int, list[float]] = defaultdict(list)
    for start, latency in pairs:
        grouped[int(start - origin)].append(latency)
    return {
        second: (percentile(values, 0.5), percentile(values, 0.99))
        for second, values in grouped.items()
    }


@dataclass(frozen=True)
class Verdict:
    """Whether a step held its rate, and if not, why."""

    held: bool
    reasons: tuple[str, ...]


def judge(
    *,
    offered: float,
    accepted_per_second: float,
    refused: int,
    losses: int,
    p99_seconds: float,
    limit_seconds: float = 1.0,
) -> Verdict:
    """A rate is held when every post was taken at (nearly) the offered rate, nothing was lost,
    and p99 POST-to-webhook stayed under the limit."""
    reasons = []
    if refused:
        reasons.append(f"{refused} posts not accepted")
    if accepted_per_second < 0.95 * offered:
        reasons.append(f"accepted {accepted_per_second:.0f}/s of {offered:.0f}/s offered")
    if losses:
        reasons.append(f"{losses} deliveries lost")
    if not p99_seconds < limit_seconds:  # NaN (nothing received) fails too
        reasons.append(f"p99 {p99_seconds * 1000:.0f} ms over {limit_seconds * 1000:.0f} ms")
    return Verdict(not reasons, tuple(reasons))


def next_rate(
    history: Sequence[tuple[float, bool]],
    *,
    start: float,
    factor: float = 1.5,
    max_rate: float = 2000.0,
    min_rate: float = 5.0,
    resolution: float = 0.1,
) -> float | None:
    """The next rate to try, or None when the search is done.

    Climb by ``factor`` while every step holds; after the first failure, bisect between the best
    held rate and the lowest failed one until they are within ``resolution`` (a fraction) of each
    other. Rates are rounded to 5/s.
    """
    if not history:
        return start
    held = [rate for rate, ok in history if ok]
    failed = [rate for rate, ok in history if not ok]
    if not failed:
        top = max(held)
        return None if top >= max_rate else min(max_rate, _round5(top * factor))
    high = min(failed)
    low = max((r for r in held if r < high), default=0.0)
    if high - low <= resolution * high or high <= min_rate:
        return None
    middle = _round5((low + high) / 2)
    if middle <= low or middle >= high or middle < min_rate:
        return None
    return middle


def _round5(rate: float) -> float:
    return float(max(5, round(rate / 5) * 5))


def busy_cores(before: dict[str, float], after: dict[str, float], seconds: float) -> float:
    """Cores the service kept busy between two CPU snapshots (seconds per process) taken
    ``seconds`` apart: the sum of what every process used, over the time."""
    used = sum(max(0.0, after.get(name, 0.0) - before.get(name, 0.0)) for name in after)
    return used / seconds if seconds > 0 else math.inf
