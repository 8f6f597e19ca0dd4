"""The load bench's moving parts: `syndicate up` in a temporary folder, subscribers, one step.

``LoadRun`` starts the whole service as an operator would (``syndicate up``: embedded Redis with
AOF, the API, a worker per queue, the scheduler), the receivers' process and the process sampler;
``step(rate)`` posts for a fixed time at a fixed rate and measures what came out.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
import requests

from bench.loadgen import Post, run_open_loop
from bench.loadstats import busy_cores, judge, latency_buckets, latency_summary, per_second
from bench.procstats import ProcStats
from bench.receivers import Receivers
from bench.wirecopy import WireCopy
from shared import keys
from shared.redis_server import free_port

TOKEN = secrets.token_urlsafe(24)
QUEUES = ("ingest", "render", "publish")


@dataclass
class StepResult:
    figures: dict[str, Any]
    timeline: dict[str, Any]
    held: bool


@dataclass
class LoadRun:
    data_dir: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    webhooks: int = 10
    websubs: int = 2
    connections: int = 8

    def __post_init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.copy = WireCopy(run_tag=str(int(time.time())))
        self.seq = 0
        self.subscribed = 0
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {TOKEN}"
        self.origin = time.time()

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> LoadRun:
        self.receivers = Receivers(self.webhooks, self.websubs).start()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
        env.update(
            {
                "SYNDICATE_DATA_DIR": str(self.data_dir),
                "SYNDICATE_HOST": "127.0.0.1",
                "SYNDICATE_PORT": str(self.port),
                "SYNDICATE_API_TOKENS": TOKEN,
                "SYNDICATE_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
                "SYNDICATE_LOG_LEVEL": "WARNING",
                **self.env_extra,
            }
        )
        self.log_path = self.data_dir / "up.log"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.up = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "up"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait(self._ready, 90, "the service to be ready")
        url = (self.data_dir / "redis.url").read_text().strip()
        self.redis = redis.Redis.from_url(url)
        self.stats = ProcStats(
            self.up.pid,
            extra={"bench (load generator)": os.getpid(), "receivers": self.receivers.pid},
        ).start()
        return self

    def stop(self) -> None:
        if hasattr(self, "stats"):
            self.stats.stop()
        self.up.send_signal(signal.SIGTERM)
        try:
            self.up.wait(60)
        except subprocess.TimeoutExpired:
            self.up.kill()
            self.up.wait()
        self.receivers.stop()

    def _ready(self) -> bool:
        if self.up.poll() is not None:
            raise RuntimeError(f"syndicate up exited; see {self.log_path}")
        try:
            return self.http.get(f"{self.base_url}/readyz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    @staticmethod
    def _wait(condition: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            time.sleep(0.2)

    # --- subscribers ------------------------------------------------------------------------

    def warm_up(self, stories: int = 40) -> None:
        """Post a few stories so every agency feed exists, then subscribe both WebSub callbacks
        to every agency feed's JSON (each story is in exactly one)."""
        self._post(stories, rate=20)
        want = {c.agency for c in self.last_copies}
        self._wait(lambda: len(self._agency_topics()) >= len(want), 60, "the agency feeds")
        self.drain()
        topics = self._agency_topics()
        for callback in self.receivers.websub_urls:
            for topic in topics:
                answer = self.http.post(
                    f"{self.base_url}/websub",
                    data={"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": callback},
                    timeout=10,
                )
                answer.raise_for_status()
        expected = len(topics) * len(self.receivers.websub_urls)

        def verified() -> bool:
            self.receivers.refresh()
            return self.receivers.verifications >= expected

        self._wait(verified, 60, "WebSub verifications")
        self.websub_topics = topics

    def _agency_topics(self) -> list[str]:
        feeds = self.http.get(f"{self.base_url}/feeds", timeout=10).json()["feeds"]
        return sorted(f["urls"]["json"] for f in feeds if f["name"].startswith("agencies/"))

    def subscribe_webhooks(self, total: int) -> None:
        """Bring the webhook subscriptions up to ``total`` receivers."""
        for url in self.receivers.webhook_urls[self.subscribed : total]:
            answer = self.http.post(f"{self.base_url}/v1/subscriptions", json={"url": url})
            answer.raise_for_status()
        self.subscribed = max(self.subscribed, total)

    # --- load -------------------------------------------------------------------------------

    def _post(self, count: int, rate: float) -> list[Post]:
        # each copy is dated when it is due, as a wire dates copy it sends: feeds order by date
        begin = time.time() + 0.05 + count * 20e-6  # the generator's own start, near enough
        copies = [
            self.copy.copy(self.seq + i, datetime.fromtimestamp(begin + i / rate, UTC))
            for i in range(count)
        ]
        self.last_copies = copies
        self.seq += count
        return run_open_loop(
            "127.0.0.1", self.port, TOKEN, copies, rate, connections=self.connections
        )

    def queue_depths(self) -> dict[str, int]:
        depths = {q: int(self.redis.llen(f"{keys.celery_prefix()}{q}")) for q in QUEUES}
        depths["publish-events"] = int(self.redis.llen(keys.publish_events()))
        return depths

    def drain(self, timeout: float = 120) -> bool:
        """Wait until every queue is empty (twice in a row); False if it never was."""
        deadline = time.monotonic() + timeout
        empty_in_a_row = 0
        while time.monotonic() < deadline:
            empty_in_a_row = empty_in_a_row + 1 if not any(self.queue_depths().values()) else 0
            if empty_in_a_row >= 2:
                return True
            time.sleep(0.5)
        return False

    def quiet(self, timeout: float = 120, below: float = 0.15, window: float = 2.0) -> bool:
        """Wait until the service is idle (its processes together busy under ``below`` of a
        core over ``window`` seconds): an overloaded step leaves work behind (deliveries and
        WebSub pushes still going out, renders catching up, Redis rewriting its AOF), and the
        next step should start from rest, not pay for the last one. False if it never was."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            before, started = self.stats.snapshot(), time.monotonic()
            time.sleep(window)
            after = self.stats.snapshot()
            service = {n: v for n, v in after.items() if n not in self.stats.extra}
            if busy_cores(before, service, time.monotonic() - started) < below:
                return True
        return False

    def redis_memory(self) -> int:
        return int(self.redis.info("memory")["used_memory"])

    def step(self, rate: float, seconds: float, settle: float = 30.0) -> StepResult:
        """Post at ``rate`` for ``seconds``; wait (at most ``settle`` s without progress) for
        every accepted story to reach every webhook subscriber and both WebSub subscribers."""
        subs = self.subscribed
        cpu_before = self.stats.snapshot()
        self.stats.reset_peaks()
        self.receivers.refresh()
        first_receipt, first_sighting = len(self.receivers.receipts), len(self.receivers.sightings)
        posts = self._post(round(rate * seconds), rate)
        accepted = {p.wire_id: p for p in posts if p.status == 202 and p.wire_id}
        expected = len(accepted) * subs
        last_progress, last_count = time.monotonic(), -1
        while True:
            self.receivers.refresh()
            receipts = self.receivers.receipts[first_receipt:]
            got = {(r[0], r[2]) for r in receipts if r[2] in accepted}
            story_of = {r[2]: r[3] for r in receipts if r[2] in accepted}
            wanted = set(story_of.values())
            seen = {
                (s[0], s[1]) for s in self.receivers.sightings[first_sighting:] if s[1] in wanted
            }
            count = len(got) + len(seen)
            if len(got) >= expected and len(seen) >= len(wanted) * self.websubs:
                break
            if count != last_count:
                last_progress, last_count = time.monotonic(), count
            elif time.monotonic() - last_progress > settle:
                break
            time.sleep(0.5)
        cpu_after = self.stats.snapshot()
        peaks = self.stats.peaks()
        return self._figures(
            rate, seconds, subs, posts, accepted, receipts, story_of, seen, cpu_before, cpu_after,
            peaks, first_sighting,
        )  # fmt: skip

    def _figures(
        self,
        rate: float,
        seconds: float,
        subs: int,
        posts: list[Post],
        accepted: dict[str, Post],
        receipts: list[tuple[int, str, str, str, float]],
        story_of: dict[str, str],
        seen: set[tuple[int, str]],
        cpu_before: dict[str, float],
        cpu_after: dict[str, float],
        peaks: dict[str, int],
        first_sighting: int,
    ) -> StepResult:
        first: dict[tuple[int, str], float] = {}
        ids = Counter()
        for index, event_id, wire_id, _story, t in receipts:
            if wire_id in accepted:
                ids[(index, event_id)] += 1
                first[(index, wire_id)] = min(t, first.get((index, wire_id), t))
        hook = [(accepted[w].due, t - accepted[w].due) for (_, w), t in first.items()]
        due_of_story = {story_of[w]: p.due for w, p in accepted.items() if w in story_of}
        feed = [
            (due_of_story[s], t - due_of_story[s])
            for i, s, t in self.receivers.sightings[first_sighting:]
            if s in due_of_story
        ]
        start = min(p.due for p in posts)
        end_post = max(p.done for p in posts)
        receipt_times = [t for (_, _), t in first.items()]
        p99 = latency_summary([lat for _, lat in hook])["p99_ms"] / 1000
        hook_losses = len(accepted) * subs - len(first)
        copies = self.last_copies
        story_wire = {s: w for w, s in story_of.items()}
        lost = sorted(
            (
                i,
                s,
                copies[accepted[story_wire[s]].seq].fmt,
                copies[accepted[story_wire[s]].seq].agency,
            )
            for i in range(self.websubs)
            for s in due_of_story
            if (i, s) not in seen
        )
        feed_losses = len(due_of_story) * self.websubs - len(seen)
        accepted_rate = len(accepted) / max(end_post - start, seconds)
        refused = Counter(p.status for p in posts if p.status != 202)
        verdict = judge(
            offered=rate,
            accepted_per_second=accepted_rate,
            refused=sum(refused.values()),
            losses=hook_losses + feed_losses + len(accepted) - len(story_of),
            p99_seconds=p99,
        )
        figures = {
            "offered_stories_per_s": rate,
            "webhook_subscribers": subs,
            "posted": len(posts),
            "accepted": len(accepted),
            "refused_by_status": {str(k): v for k, v in refused.items()},
            "accepted_per_s": round(accepted_rate, 1),
            "webhook_deliveries_per_s": round(
                len(first) / max(max(receipt_times, default=start) - start, seconds), 1
            ),
            "post_answer": latency_summary([p.done - p.due for p in accepted.values()]),
            "post_to_webhook": latency_summary([lat for _, lat in hook]),
            "post_to_feed_websub": latency_summary([lat for _, lat in feed]),
            "webhook_losses": hook_losses,
            "feed_losses": feed_losses,
            "webhook_duplicates": sum(n - 1 for n in ids.values()),
            "feed_losses_sample": [list(x) for x in lost[:10]],
            "cpu_seconds": _merged(
                {k: v - cpu_before.get(k, 0.0) for k, v in cpu_after.items()}, sum
            ),
            "peak_rss_mb": _merged({k: v / 2**20 for k, v in peaks.items()}, max),
            "queue_depths_after": self.queue_depths(),
            "held": verdict.held,
            "why_not": list(verdict.reasons),
        }
        timeline = {
            "start": round(start - self.origin, 2),
            "rate": rate,
            "accepted_per_second": _shift(
                per_second((p.done for p in accepted.values()), self.origin)
            ),
            "delivered_per_second": _shift(per_second(receipt_times, self.origin)),
            "webhook_latency": {
                str(k): [round(a, 4), round(b, 4)]
                for k, (a, b) in sorted(latency_buckets(hook, self.origin).items())
            },
        }
        return StepResult(figures, timeline, verdict.held)


def _merged(values: dict[str, float], how: Any) -> dict[str, float]:
    """Figures per kind of process: pool children (and Redis's forks for AOF rewrites), which
    come and go, are summed (CPU) or maxed (RSS) under one label; unreadable ones dropped."""
    grouped: dict[str, list[float]] = {}
    for label, value in values.items():
        kind = label.split(" #")[0]
        if kind != "?":
            grouped.setdefault(kind, []).append(value)
    return {k: round(how(v), 2 if how is sum else 1) for k, v in sorted(grouped.items())}


def _shift(counts: dict[int, int]) -> dict[str, int]:
    return {str(k): v for k, v in sorted(counts.items())}
