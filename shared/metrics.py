"""Prometheus metrics kept in Redis, so that every process (workers on any host) adds to them and
the API's ``/metrics`` shows the sum.

A worker cannot expose its own ``/metrics`` usefully: it may run on another host, several run at
once, and they come and go. So a metric here is written to Redis (one hash per metric, a field per
label set) and described in a registry hash beside it; the API exposes every described metric
through a custom collector, knowing nothing about who defined it. Writers call ``inc`` /
``observe`` (one pipelined round trip; a metric that cannot be written is logged, never raised:
metrics must not fail the work they measure).

    counter   = Counter("syndicate_feed_renders_total", "Feed renders.", ("feed", "format"))
    histogram = Histogram("syndicate_feed_render_seconds", "Render time.", ("format",))
    counter.inc(client, ("all", "rss"))
    histogram.observe(client, ("rss",), 0.012)
    registry.register(RedisCollector(get_redis))   # in the API process

Several writes of a hot path go in one round trip: ``record(client, counter.increment(...),
histogram.observation(...))``, or into a pipeline the caller already runs: ``fill(pipe, ...)``;
the writes given together are merged, one command per field (a batch of deliveries costs
about what one does).
Gauges best read live (queue depths, schedules) are not written at all: ``shared.live_metrics``
computes them at scrape time.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from shared import keys
from shared.live_metrics import LiveCollector
from shared.redis_conn import text

log = logging.getLogger(__name__)

DEFAULT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SEP = "\x1f"


def _field(labels: Sequence[str], suffix: str = "") -> str:
    return json.dumps(list(labels), ensure_ascii=False) + (_SEP + suffix if suffix else "")


@dataclass(frozen=True)
class _Metric:
    name: str
    help: str
    labelnames: tuple[str, ...] = ()

    kind = "untyped"

    def description(self) -> str:
        return json.dumps(self._described(), sort_keys=True)

    def _described(self) -> dict[str, Any]:
        return {"type": self.kind, "help": self.help, "labels": list(self.labelnames)}

    @functools.cached_property
    def registered(self) -> str:
        """``description()``, worked out once: every write sends it with its commands."""
        return self.description()

    def _check(self, labels: Sequence[str]) -> None:
        if len(labels) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {tuple(labels)}")


#: one change to a metric's hash: (command, key, field, value), the command one of
#: ``hincrby``, ``hincrbyfloat`` (added up when several writes touch one field) or ``hset``
Op = tuple[str, str, str, float]


@dataclass(frozen=True)
class Write:
    """One pending write of one metric: ``record`` or ``fill`` sends it."""

    metric: _Metric
    ops: tuple[Op, ...]


def fill(pipe: Any, *writes: Write) -> None:
    """Add ``writes`` to a pipeline the caller runs: each metric's description once, and one
    command per field however many writes touch it (increments added up, the last value
    set kept), so a batch of ten deliveries' metrics costs about what one's does."""
    described: dict[str, str] = {}
    merged: dict[tuple[str, str, str], float] = {}  # (command, key, field) -> value
    for write in writes:
        described.setdefault(write.metric.name, write.metric.registered)
        for command, key, name, value in write.ops:
            at = (command, key, name)
            merged[at] = value if command == "hset" else merged.get(at, 0) + value
    for metric, description in described.items():
        pipe.hset(keys.metrics_registry(), metric, description)
    for (command, key, name), value in merged.items():
        getattr(pipe, command)(key, name, value)


def record(client: redis.Redis, *writes: Write) -> None:
    """Send ``writes`` in one pipelined round trip; a failure is logged, never raised."""
    if not writes:
        return
    pipe = client.pipeline(transaction=False)
    fill(pipe, *writes)
    try:
        pipe.execute()
    except redis.RedisError:
        names = sorted({w.metric.name for w in writes})
        log.warning("metrics %s not recorded: Redis unavailable", ", ".join(names))


@dataclass(frozen=True)
class Counter(_Metric):
    """A counter that only goes up, summed over every process."""

    kind = "counter"

    def increment(self, labels: Sequence[str] = (), amount: float = 1.0) -> Write:
        self._check(labels)
        return Write(self, (("hincrbyfloat", keys.metric(self.name), _field(labels), amount),))

    def inc(self, client: redis.Redis, labels: Sequence[str] = (), amount: float = 1.0) -> None:
        record(client, self.increment(labels, amount))


@dataclass(frozen=True)
class Gauge(_Metric):
    """A value set by whoever measured it last (e.g. a backlog a worker sees)."""

    kind = "gauge"

    def setting(self, value: float, labels: Sequence[str] = ()) -> Write:
        self._check(labels)
        return Write(self, (("hset", keys.metric(self.name), _field(labels), value),))

    def set(self, client: redis.Redis, value: float, labels: Sequence[str] = ()) -> None:
        record(client, self.setting(value, labels))


@dataclass(frozen=True)
class Histogram(_Metric):
    """A histogram: per label set, a count per bucket (stored non-cumulative), sum and count."""

    buckets: tuple[float, ...] = field(default=DEFAULT_BUCKETS)
    kind = "histogram"

    def _described(self) -> dict[str, Any]:
        return {**super()._described(), "buckets": list(self.buckets)}

    def observation(self, labels: Sequence[str], value: float) -> Write:
        self._check(labels)
        bucket = next((i for i, bound in enumerate(self.buckets) if value <= bound), None)
        key = keys.metric(self.name)
        ops: list[Op] = []
        if bucket is not None:
            ops.append(("hincrby", key, _field(labels, f"b{bucket}"), 1))
        ops.append(("hincrbyfloat", key, _field(labels, "sum"), value))
        ops.append(("hincrby", key, _field(labels, "count"), 1))
        return Write(self, tuple(ops))

    def observe(self, client: redis.Redis, labels: Sequence[str], value: float) -> None:
        record(client, self.observation(labels, value))


def _families(description: dict[str, Any], name: str, values: dict[str, str]) -> Metric | None:
    """One Prometheus family from a metric's stored description and values (pure)."""
    kind = description.get("type")
    labelnames = list(description.get("labels", []))
    helptext = str(description.get("help", ""))
    if kind == "counter":
        counter = CounterMetricFamily(name, helptext, labels=labelnames)
        for labels, value in sorted(values.items()):
            counter.add_metric(json.loads(labels), float(value))
        return counter
    if kind == "gauge":
        gauge = GaugeMetricFamily(name, helptext, labels=labelnames)
        for labels, value in sorted(values.items()):
            gauge.add_metric(json.loads(labels), float(value))
        return gauge
    if kind == "histogram":
        bounds = [float(b) for b in description.get("buckets", [])]
        series: dict[str, dict[str, float]] = {}
        for fieldname, value in values.items():
            labels, _, part = fieldname.partition(_SEP)
            series.setdefault(labels, {})[part] = float(value)
        histogram = HistogramMetricFamily(name, helptext, labels=labelnames)
        for labels, parts in sorted(series.items()):
            cumulative = 0.0
            buckets: list[tuple[str, float]] = []
            for i, bound in enumerate(bounds):
                cumulative += parts.get(f"b{i}", 0.0)
                buckets.append((_bound(bound), cumulative))
            buckets.append(("+Inf", parts.get("count", 0.0)))
            histogram.add_metric(json.loads(labels), buckets, parts.get("sum", 0.0))
        return histogram
    return None


def _bound(value: float) -> str:
    return "+Inf" if math.isinf(value) else repr(float(value))


class RedisCollector(Collector):
    """Exposes every metric described in Redis (whoever wrote it) to a Prometheus registry."""

    def __init__(self, client: Callable[[], redis.Redis]) -> None:
        self._client = client

    def collect(self) -> Iterator[Metric]:
        client = self._client()
        registry = client.hgetall(keys.metrics_registry())
        names = sorted(text(name) for name in registry)
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.hgetall(keys.metric(name))
        stored = pipe.execute()
        for name, values in zip(names, stored, strict=True):
            description = json.loads(text(registry[name.encode()]))
            family = _families(
                description, name, {text(k): text(v) for k, v in dict(values).items()}
            )
            if family is not None:
                yield family


def exposition(client: Callable[[], redis.Redis], *, live: bool = True) -> bytes:
    """The Prometheus text exposition of every metric in Redis, and (``live``) of the gauges
    read at scrape time (``shared.live_metrics``)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector(client))
    if live:
        registry.register(LiveCollector(client))
    return generate_latest(registry)
