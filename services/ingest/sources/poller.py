"""The source poller: threads in each scheduler process that poll sources as they fall due.

Polling is network I/O that may hang for a source's whole time budget, so it runs neither on the
ingest worker (one CPU-bound task at a time: a slow upstream would stall parsing) nor in Celery
at all: each ``syndicate scheduler`` runs a poller, which claims due sources from the schedule in
Redis (``store.claim_due``: atomic, so with several schedulers each due poll is claimed once)
and polls up to ``SYNDICATE_SOURCE_POLL_THREADS`` of them at a time. What a poll finds goes to
ingest as raw items and ``process_wire`` tasks, like pushed copy.

A poller that dies mid-poll leaves its claims a lease ahead in the schedule; they fall due again
by themselves and any scheduler polls them. At start the schedule is reconciled with the
sources (an enabled source missing from it is put back, due now), after sources stored under
the keys of before the Redis Cluster hash tags are moved to the tagged ones (once).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import redis

from services.ingest.sources import store
from services.ingest.sources.poll import LEASE_MARGIN_SECONDS, poll
from shared.http import Client
from shared.logging import bind
from shared.settings import Settings

log = logging.getLogger(__name__)

#: the longest the poller sleeps between looks at the schedule (seconds)
TICK = 0.25


class Poller:
    """Claims due sources and polls them on a pool of threads, until stopped."""

    def __init__(
        self,
        client: Callable[[], redis.Redis],
        settings: Settings,
        http: Client,
        *,
        name: str = "poller",
    ) -> None:
        self._client = client
        self._settings = settings
        self._http = http
        self.name = name
        self.threads = settings.source_poll_threads
        self._busy = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix=f"{name}-poll")
        self._thread: threading.Thread | None = None
        #: the claim's lease: the default budget; a poll of a slower source extends its own
        self.claim_lease = 2 * settings.source_timeout_seconds + LEASE_MARGIN_SECONDS

    def start(self) -> Poller:
        try:
            moved = store.move_untagged(self._client())
            if moved:
                log.info("%s: %d sources moved to hash-tagged keys", self.name, moved)
            added = store.reconcile(self._client(), store.redis_now(self._client()))
            if added:
                log.info("%s: %d sources put back on the schedule", self.name, added)
        except redis.RedisError as exc:
            log.warning("%s: schedule not reconciled (%s)", self.name, exc)
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()
        return self

    def run_once(self) -> int:
        """Claim what is due, as many as there are free threads; returns how many."""
        with self._lock:
            free = self.threads - self._busy
        if free <= 0:
            return 0
        client = self._client()
        claimed = store.claim_due(client, store.redis_now(client), self.claim_lease, free)
        for source_id in claimed:
            with self._lock:
                self._busy += 1
            self._pool.submit(self._run, source_id)
        return len(claimed)

    def _run(self, source_id: str) -> None:
        try:
            with bind(source_id=source_id):
                poll(self._client(), source_id, self._settings, self._http)
        except Exception:
            # the claim stays a lease ahead: the source is polled again when it expires
            log.exception("%s: poll of %s failed", self.name, source_id)
        finally:
            with self._lock:
                self._busy -= 1
            self._wake.set()

    def _wait(self) -> float:
        """Until the next scheduled poll, at most a tick (a tick when every thread is busy: a
        finishing poll wakes the loop)."""
        with self._lock:
            if self._busy >= self.threads:
                return TICK
        try:
            client = self._client()
            first = store.next_due(client)
            if first is None:
                return TICK
            now = store.redis_now(client).timestamp()
            return max(0.01, min(TICK, first - now))
        except redis.RedisError:
            return TICK

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
                wait = self._wait()
            except redis.RedisError as exc:
                log.warning("%s: Redis unavailable (%s); retrying", self.name, exc)
                wait = 1.0
            except Exception:
                log.exception("%s: unexpected error; carrying on", self.name)
                wait = 1.0
            self._wake.wait(wait)
            self._wake.clear()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming; let polls in flight finish for up to ``timeout`` seconds (a poll cut
        short is polled again when its claim expires)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._busy <= 0:
                    return
            time.sleep(0.1)
