"""The Celery app every process shares, and the one task base class.

The flow, written down once::

    POST /v1/wire ──> Redis (raw bytes, AOF) ──> [ingest] process_wire
        parse → normalise → decide (new/update/correction/kill/duplicate) → store story → events
    events ──> [render]  on_story_event → re-render the feeds it touches → store bytes + ETag
           └─> [publish] on_story_event → one delivery per matching subscription → deliver
    [scheduler] every second: drain_due → deliver the retries whose time has come

Workers ack late and a task taken by a worker that died is handed out again after
``visibility_timeout`` (kombu's redis transport), so every task is written to be safe to run twice.
Services address each other only by the task names of ``shared.names``.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from functools import lru_cache
from typing import Any

import redis
from celery import Celery, Task

from shared import broker, keys, leftovers, names
from shared.errors import SyndicateError
from shared.logging import bind
from shared.redis_conn import get_redis
from shared.settings import Settings, get_settings

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5
HEARTBEAT_TTL_SECONDS = 20


def celery_config(settings: Settings) -> dict[str, Any]:
    """The Celery configuration, derived from our settings (pure)."""
    vt = settings.visibility_timeout
    return {
        "broker_url": settings.effective_redis_url(),
        # kombu's Redis transport, keeping one client object per channel (shared.kombu_redis)
        "broker_transport": "shared.kombu_redis:Transport",
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "visibility_timeout": vt,
            "global_keyprefix": keys.celery_prefix(),
            # look for tasks abandoned by dead workers often enough to notice within ~vt
            "unacked_restore_interval": max(1, min(10, vt // 5)),
            "unacked_restore_throttle": 1,
        },
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        "result_backend": None,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_routes": route_task,
        "task_default_queue": names.QUEUE_INGEST,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "beat_schedule": {
            "drain-due-deliveries": {
                "task": names.TASK_PUBLISH_DRAIN_DUE,
                "schedule": 1.0,
                "options": {"expires": 5},
            },
        },
        "timezone": "UTC",
        "enable_utc": True,
    }


def route_task(name: str, *_args: Any, **_kwargs: Any) -> dict[str, str] | None:
    """Route each Syndicate task to the queue its name names."""
    try:
        return {"queue": names.queue_of(name)}
    except ValueError:
        return None


class SyndicateTask(Task[Any, Any]):
    """Cross-cutting behaviour of every task, carried once.

    Retries errors that say they are retryable (and lost Redis connections) with backoff; first
    makes the releases a Redis outage refused (``shared.leftovers``); honours the
    fault-injection delay setting so tests can catch a task in flight; runs the task in a
    log context of its own (``shared.logging.bind``): every line carries its task id, and the
    ids the task adds go when it ends.
    """

    autoretry_for = (redis.ConnectionError, redis.TimeoutError)
    retry_backoff = True
    retry_backoff_max = 30
    retry_jitter = True
    max_retries = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with bind(task_id=self.request.id, task=self.name):
            return self._run(*args, **kwargs)

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        with contextlib.suppress(redis.RedisError):
            leftovers.release_pending()  # locks and slots a Redis outage left held
        delay = get_settings().debug_task_delay_seconds
        if delay:
            log.warning("debug_task_delay_seconds=%s: %s sleeps", delay, self.name)
            time.sleep(delay)
        try:
            return super().__call__(*args, **kwargs)
        except SyndicateError as exc:
            if exc.retryable:
                raise self.retry(
                    exc=exc, countdown=min(30, 2 ** min(self.request.retries, 5))
                ) from exc
            raise


@lru_cache(maxsize=1)
def get_celery() -> Celery[SyndicateTask]:
    """The process's Celery app, configured from settings on first use."""
    app: Celery[SyndicateTask] = Celery("syndicate", task_cls=SyndicateTask)
    app.conf.update(celery_config(get_settings()))
    return app


def send(task_name: str, *args: Any) -> None:
    """Enqueue a task by name on its queue: the message Celery's ``send_task`` would write,
    written by ``shared.broker`` at a fraction of the cost (one ``LPUSH``)."""
    broker.push(get_redis(), task_name, *args)


class Heartbeat:
    """Tells `/readyz` that a worker of ``queue`` is alive: a key with a short TTL, refreshed
    every few seconds from ``start()`` (called once the worker consumes) until ``stop()``, which
    removes the key at once so a stopped worker never counts as live."""

    def __init__(self, queue: str, client: redis.Redis, hostname: str | None = None) -> None:
        self.queue = queue
        self.client = client
        self.key = keys.worker_heartbeat(queue, hostname or f"{socket.gethostname()}:{id(self)}")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._beat, name=f"heartbeat-{self.queue}", daemon=True
            )
            self._thread.start()

    def _beat(self) -> None:
        while not self._stop.is_set():
            try:
                self.client.set(self.key, str(time.time()), ex=HEARTBEAT_TTL_SECONDS)
            except redis.RedisError:
                log.warning("heartbeat for %s could not reach Redis", self.queue)
            self._stop.wait(HEARTBEAT_SECONDS)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=HEARTBEAT_SECONDS + 1)
        try:
            self.client.delete(self.key)
        except redis.RedisError:
            log.debug("heartbeat key not removed", exc_info=True)


def start_heartbeat(queue: str, client: redis.Redis, hostname: str | None = None) -> Heartbeat:
    """A started ``Heartbeat`` (for code that is live as soon as it calls this)."""
    heartbeat = Heartbeat(queue, client, hostname)
    heartbeat.start()
    return heartbeat


def __getattr__(name: str) -> Any:
    """``celery -A shared.celery_app:app …`` (Flower, ``celery inspect``) finds the app here."""
    if name == "app":
        return get_celery()
    raise AttributeError(name)
