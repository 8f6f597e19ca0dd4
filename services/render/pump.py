"""The render pump: a thread in each render worker that renders documents as they fall due.

Events only mark documents (``dirty.py``); the pump claims due ones, renders each, and hands
each lease back. Several pumps (workers on any host) share the work through the claims, and a
document one pump holds is never claimed by another until that render is over (or its lease ran
out). The render gets the claim number, which fences the store: a render that outlived its
lease cannot overwrite what a later claim stored. A render that raises hands its lease back,
due again ``RETRY_SECONDS`` later; when Redis itself is what failed (the hand-back fails too),
the pump keeps the claim in memory and hands it back as soon as Redis answers, so a Redis
restart delays feeds by the outage, not by a lease. Only a pump that dies leaves its lease to
run out. The pump itself never dies of an error (Redis down included): it logs and carries on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

from services.render.dirty import DirtySet

log = logging.getLogger(__name__)

#: A claimed document is handed out again this long after its renderer died (seconds).
LEASE_SECONDS = 30.0
#: A document whose render failed is due again this long after (seconds).
RETRY_SECONDS = 1.0
BATCH = 16


@dataclass(frozen=True)
class Rendered:
    """What rendering one document did."""

    changed: tuple[str, ...]
    next_due: float | None = None  # epoch seconds when the document must render again


class Pump:
    """Claims and renders due documents until stopped."""

    def __init__(
        self,
        client: Callable[[], redis.Redis],
        render: Callable[[str, int], Rendered],
        *,
        poll: float = 0.05,
        lease: float = LEASE_SECONDS,
    ) -> None:
        self._client = client
        self._render = render
        self.poll = poll
        self.lease = lease
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: claims of failed renders not handed back yet (Redis was down)
        self.unreturned: list[tuple[str, int]] = []

    def _give_back(self, dirty: DirtySet, document: str, claim: int) -> None:
        try:
            dirty.done(document, claim, time.time() + RETRY_SECONDS)
        except redis.RedisError:
            self.unreturned.append((document, claim))

    def run_once(self) -> int:
        """Claim and render every document due now; returns how many were rendered."""
        dirty = DirtySet(self._client())
        while self.unreturned:
            document, claim = self.unreturned[0]
            dirty.done(document, claim, time.time())  # Redis is back: due again at once
            self.unreturned.pop(0)
        count = 0
        while not self._stop.is_set():
            claimed = dirty.claim(BATCH, self.lease)
            if not claimed:
                return count
            for document, claim in claimed:
                try:
                    result = self._render(document, claim)
                except Exception:
                    log.exception("render of %s failed; retried in %ss", document, RETRY_SECONDS)
                    self._give_back(dirty, document, claim)
                    continue
                dirty.done(document, claim, result.next_due)
                count += 1
        return count

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except redis.RedisError as exc:
                log.warning("render pump: Redis unavailable (%s); retrying", exc)
                self._stop.wait(1.0)
                continue
            except Exception:
                log.exception("render pump: unexpected error; carrying on")
            self._stop.wait(self.poll)

    def start(self) -> Pump:
        self._thread = threading.Thread(target=self._loop, name="render-pump", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the render in progress (if any) finishes."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
