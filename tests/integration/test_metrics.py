"""Metrics kept in Redis by any process and exposed by the API's collector, summed."""

from __future__ import annotations

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from redis.backoff import NoBackoff
from redis.retry import Retry

from shared import metrics


def samples(client: redis.Redis) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition(lambda: client).decode()
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_counters_gauges_and_histograms_from_several_writers(redis_db: redis.Redis) -> None:
    renders = metrics.Counter("t_renders_total", "Renders.", ("feed",))
    backlog = metrics.Gauge("t_backlog", "Backlog.")
    seconds = metrics.Histogram("t_seconds", "Time.", ("kind",), buckets=(0.1, 1.0))
    for _ in range(3):
        renders.inc(redis_db, ("all",))
    renders.inc(redis_db, ("sections/x",), amount=2)
    backlog.set(redis_db, 7)
    for value in (0.05, 0.5, 0.7, 5.0):
        seconds.observe(redis_db, ("sub",), value)
    got = samples(redis_db)
    assert got[("t_renders_total", (("feed", "all"),))] == 3
    assert got[("t_renders_total", (("feed", "sections/x"),))] == 2
    assert got[("t_backlog", ())] == 7
    assert got[("t_seconds_bucket", (("kind", "sub"), ("le", "0.1")))] == 1
    assert got[("t_seconds_bucket", (("kind", "sub"), ("le", "1.0")))] == 3
    assert got[("t_seconds_bucket", (("kind", "sub"), ("le", "+Inf")))] == 4
    assert got[("t_seconds_count", (("kind", "sub"),))] == 4
    assert got[("t_seconds_sum", (("kind", "sub"),))] == pytest.approx(6.25)


def test_wrong_labels_are_a_bug_and_redis_down_is_not_fatal() -> None:
    counter = metrics.Counter("t_x_total", "X.", ("a",))
    with pytest.raises(ValueError, match="takes labels"):
        counter.inc(redis.Redis(port=1), ())
    down = redis.Redis(port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    counter.inc(down, ("v",))  # logged, not raised
