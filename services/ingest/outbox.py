"""The outbox sweeper: a thread in each scheduler that sends the ingest task again for stored
items that are not through ingest long after their task was sent, and story events again to
render or publish when they have not handled them long after (``shared.outbox``).

A wire item is stored together with its outbox entry (``store.save_wire``, one transaction),
then its task is sent. A send that fails (a Redis blip), an API or scheduler process that dies
between the two, or a message lost with a worker would leave the copy accepted and never parsed;
the entry stays until the task has processed the item (events sent), so the sweeper finds it
and sends the task again. Sending twice is safe: the ingest task recognises an item it already
processed (and a version it already stored), so a re-run stores nothing twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis

from services.ingest import store
from shared import names, stories
from shared import outbox as events
from shared.celery_app import send

log = logging.getLogger(__name__)

#: entries claimed per look (the rest wait for the next one, a tick later)
BATCH = 500
#: the task of each consumer of story events (``shared.outbox``)
EVENT_TASKS = {"render": names.TASK_RENDER_ON_EVENT, "publish": names.TASK_PUBLISH_ON_EVENT}


def sweep_once(client: redis.Redis, older_than: float, now: float | None = None) -> list[str]:
    """Send the ingest task of every outbox entry last sent more than ``older_than`` seconds
    ago; returns their ids. A send that fails leaves the entry to the next sweep."""
    now = time.time() if now is None else now
    claimed = store.claim_outbox(client, now, older_than, BATCH)
    for wire_id in claimed:
        send(names.TASK_INGEST_WIRE, wire_id)
    if claimed:
        log.warning("outbox: ingest task sent again for %d stored items", len(claimed))
    for consumer, task in EVENT_TASKS.items():
        ids = events.claim(client, consumer, now, older_than, BATCH)
        for event in (stories.get_event(client, event_id) for event_id in ids):
            if event is not None:
                send(task, event.model_dump(mode="json"))
        for event_id in ids:
            if stories.get_event(client, event_id) is None:
                events.handled(client, consumer, event_id)  # expired: nothing to send
        if ids:
            log.warning("outbox: %d story events sent again to %s", len(ids), consumer)
    return claimed


class Sweeper:
    """Runs ``sweep_once`` every ``tick`` seconds on a daemon thread, until stopped."""

    def __init__(
        self, client: Callable[[], redis.Redis], older_than: float, *, tick: float | None = None
    ) -> None:
        self._client = client
        self.older_than = older_than
        self.tick = tick if tick is not None else max(0.5, min(5.0, older_than / 4))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Sweeper:
        self._thread = threading.Thread(target=self._loop, name="outbox-sweeper", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                sweep_once(self._client(), self.older_than)
            except redis.RedisError as exc:
                log.warning("outbox sweeper: Redis unavailable (%s); retrying", exc)
            except Exception:
                log.exception("outbox sweeper: unexpected error; carrying on")
            self._stop.wait(self.tick)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
