"""Webhook fan-out on the running service against a bare ``requests`` loop, on loopback.

A private redis-server, the API, one publish worker (its default 16 threads) and the scheduler;
50 receivers on loopback, 50 subscriptions, 20 story events handed to publish as ingest hands
them (so 1000 signed deliveries). Figures: deliveries per second from the first event to the last
receipt, the same number of ``requests.Session().post`` calls made one after another to the same
receivers in the same run, their ratio, and the time from an event being handed to publish to its
receipt (p50, p99).
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests

from shared.redis_server import RedisServer
from tests.support.events import Injector, make_story, unique
from tests.support.receiver import Received, Receiver
from tests.support.service import Service
from tests.support.waiting import wait_for

SUBSCRIBERS = 50
EVENTS = 20


class Clock:
    """Receipt times, by event id, shared by every receiver."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.receipts: list[tuple[str, float]] = []

    def respond(self, got: Received) -> tuple[int, bytes]:
        with self.lock:
            self.receipts.append((got.headers.get("webhook-id", ""), time.perf_counter()))
        return 200, b"ok"

    def count(self) -> int:
        with self.lock:
            return len(self.receipts)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _publish_ready(service: Service) -> bool:
    try:
        ready = requests.Session().get(f"{service.base_url}/readyz", timeout=2).json()
    except requests.RequestException:
        return False
    return bool(ready.get("checks", {}).get("workers", {}).get("publish"))


def run() -> dict[str, object]:
    clock = Clock()
    receivers = [Receiver(respond=clock.respond).start() for _ in range(SUBSCRIBERS)]
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(data_dir=Path(tmp) / "redis").start()
        service = Service(
            redis_url=server.url,
            data_dir=Path(tmp) / "service",
            env_extra={"SYNDICATE_LOG_LEVEL": "WARNING"},
        )
        injector = Injector(server.url)
        try:
            for part in ("api", "publish", "scheduler"):
                service.start(part)
            wait_for(lambda: _publish_ready(service), timeout=60, message="a publish worker")
            for receiver in receivers:
                service.subscribe(receiver.url)
            sent_at: dict[str, float] = {}
            started = time.perf_counter()
            for _ in range(EVENTS):
                story = make_story(unique("st_"))
                event = injector.store_version(story, "story.published")
                sent_at[event.id] = time.perf_counter()
                injector.story_event(event)
            total = SUBSCRIBERS * EVENTS
            wait_for(lambda: clock.count() >= total, timeout=300, interval=0.01, message="all")
            with clock.lock:
                receipts = list(clock.receipts)
            service_seconds = max(t for _, t in receipts) - started
            latencies = [(t - sent_at[eid]) * 1000 for eid, t in receipts if eid in sent_at]
            body = receivers[0].snapshot()[0].body
            headers = dict(receivers[0].snapshot()[0].headers)
        finally:
            service.stop()
            injector.close()
            server.stop()

    session = requests.Session()
    started = time.perf_counter()
    for _ in range(EVENTS):
        for receiver in receivers:
            session.post(receiver.url, data=body, headers=headers, timeout=10)
    bare_seconds = time.perf_counter() - started
    for receiver in receivers:
        receiver.stop()

    service_rate = total / service_seconds
    bare_rate = total / bare_seconds
    return {
        "deliveries (50 subscribers x 20 events)": total,
        "service: deliveries per second": round(service_rate, 1),
        "bare requests.Session().post loop: posts per second": round(bare_rate, 1),
        "ratio service / bare loop": round(service_rate / bare_rate, 2),
        "event to receipt p50 (ms)": round(statistics.median(latencies), 1),
        "event to receipt p99 (ms)": round(_percentile(latencies, 0.99), 1),
    }
