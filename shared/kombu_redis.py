"""kombu's Redis transport, with one Redis client object per channel instead of one per call.

Every message a worker takes is recorded as unacknowledged and then acknowledged, and every
publish goes through ``Channel.conn_or_acquire``, which in kombu 5 builds a new ``redis.Redis``
object each time (sharing the connection pool, but rebuilding the client's response-callback
tables: about a tenth of a worker's CPU per task in a profile). A client object is safe to share
between threads (each command takes a connection from the pool), so this channel keeps one per
connection pool, and makes a new one when kombu replaces the pool (after a lost connection).

Used through Celery's ``broker_transport`` setting (``shared.celery_app.celery_config``);
everything else is kombu's own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    """A channel that reuses its synchronous Redis client object."""

    _kept: tuple[Any, Any] | None = None
    _kept_lock = threading.Lock()

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        if client:
            yield client
            return
        yield self._kept_client()

    def _kept_client(self) -> Any:
        pool = self.pool
        kept = self._kept
        if kept is not None and kept[0] is pool:
            return kept[1]
        with self._kept_lock:
            kept = self._kept
            if kept is None or kept[0] is not pool:
                kept = (pool, self._create_client())  # type: ignore[attr-defined]
                self._kept = kept
        return kept[1]


class Transport(kombu_redis.Transport):
    """kombu's Redis transport with ``Channel`` above."""

    Channel = Channel
