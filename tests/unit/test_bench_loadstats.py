"""The load bench's pure rules: percentiles, buckets, the verdict on a step, the step search."""

from __future__ import annotations

import math

from bench.loadstats import busy_cores, judge, latency_buckets, next_rate, per_second, percentile


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.99) == 99
    assert percentile(values, 1.0) == 100
    assert percentile([7.0], 0.99) == 7
    assert math.isnan(percentile([], 0.5))


def test_buckets_count_by_whole_second_after_origin() -> None:
    assert per_second([10.1, 10.9, 11.0, 13.5], origin=10.0) == {0: 2, 1: 1, 3: 1}
    buckets = latency_buckets([(10.2, 0.1), (10.7, 0.3), (12.1, 2.0)], origin=10.0)
    assert buckets == {0: (0.1, 0.3), 2: (2.0, 2.0)}


def test_a_step_holds_only_with_everything_taken_nothing_lost_and_p99_under_the_limit() -> None:
    ok = {"offered": 100.0, "accepted_per_second": 99.0, "refused": 0, "losses": 0}
    assert judge(**ok, p99_seconds=0.8).held
    slow = judge(**ok, p99_seconds=1.2)
    assert not slow.held
    assert "p99" in slow.reasons[0]
    assert not judge(**ok, p99_seconds=math.nan).held  # nothing arrived at all
    assert not judge(**{**ok, "losses": 1}, p99_seconds=0.1).held
    assert not judge(**{**ok, "refused": 3}, p99_seconds=0.1).held
    assert not judge(**{**ok, "accepted_per_second": 80.0}, p99_seconds=0.1).held


def test_search_climbs_while_steps_hold_then_bisects_and_stops() -> None:
    assert next_rate([], start=40) == 40
    assert next_rate([(40, True)], start=40) == 60
    assert next_rate([(40, True), (60, True)], start=40) == 90
    # 90 failed: halfway between the best held (60) and the lowest failed (90)
    assert next_rate([(40, True), (60, True), (90, False)], start=40) == 75
    assert next_rate([(40, True), (60, True), (90, False), (75, False)], start=40) == 70
    # within 10% of each other: done
    assert next_rate([(60, True), (65, False)], start=60) is None


def test_search_goes_down_when_the_first_rate_fails_and_gives_up_at_the_floor() -> None:
    assert next_rate([(40, False)], start=40) == 20
    assert next_rate([(40, False), (20, False), (10, False), (5, False)], start=40) is None
    assert next_rate([(2000, True)], start=2000, max_rate=2000) is None


def test_busy_cores_sums_what_every_process_used_over_the_time() -> None:
    before = {"api": 1.0, "worker render": 2.0}
    after = {"api": 1.5, "worker render": 3.5, "worker publish": 1.0}  # a process that appeared
    assert busy_cores(before, after, 2.0) == 1.5
    assert busy_cores(after, after, 2.0) == 0.0
    assert busy_cores(after, before, 2.0) == 0.0  # a restarted process never counts negative
