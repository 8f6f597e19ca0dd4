"""Locks a Redis outage left held (the ingest task's story lock here; publish's delivery lock and
slot go the same way): a release that Redis refused is made before the process's next task
(``shared.leftovers``, called by the task base class), so the lock does not hold the story (and
the one-task-at-a-time ingest worker) until its TTL runs out."""

from __future__ import annotations

import pytest
import redis
from redis.lock import Lock

from services.ingest import locks
from shared import keys, leftovers


def test_a_lock_whose_release_failed_is_released_by_the_next_run(
    redis_db: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_release = Lock.release
    failures = []

    def release_while_redis_is_away(self: Lock) -> None:
        failures.append(self.name)
        if len(failures) == 1:
            raise redis.ConnectionError("Connection refused")
        real_release(self)  # Redis is back

    monkeypatch.setattr(Lock, "release", release_while_redis_is_away)
    with pytest.raises(redis.ConnectionError, match="blip"), locks.story_lock(redis_db, "st_1"):
        raise redis.ConnectionError("blip")  # the run fails, as Redis goes away
    monkeypatch.setattr(Lock, "release", real_release)
    assert failures == [keys.story_lock("st_1")]
    assert redis_db.exists(keys.story_lock("st_1")), "held: its release was refused"

    assert leftovers.release_pending() == 1
    assert not redis_db.exists(keys.story_lock("st_1"))
    assert leftovers.release_pending() == 0


def test_a_lock_taken_over_since_is_not_released_by_its_old_holder(
    redis_db: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_release = Lock.release

    refusals = []

    def refused(self: Lock) -> None:
        if not refusals:
            refusals.append(self.name)
            raise redis.ConnectionError("Connection refused")
        real_release(self)

    monkeypatch.setattr(Lock, "release", refused)
    with locks.story_lock(redis_db, "st_2"):
        pass
    monkeypatch.setattr(Lock, "release", real_release)
    redis_db.set(keys.story_lock("st_2"), "someone-else")  # it expired and another run took it
    assert leftovers.release_pending() == 1
    assert redis_db.get(keys.story_lock("st_2")) == b"someone-else"


def test_a_task_makes_the_pending_releases_first(
    redis_db: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.celery_app import get_celery

    real_release = Lock.release

    refusals = []

    def refused(self: Lock) -> None:
        if not refusals:
            refusals.append(self.name)
            raise redis.ConnectionError("Connection refused")
        real_release(self)

    monkeypatch.setattr(Lock, "release", refused)
    with locks.story_lock(redis_db, "st_3"):
        pass
    monkeypatch.setattr(Lock, "release", real_release)
    assert leftovers.pending() == 1

    @get_celery().task(name="tests.noop")
    def noop() -> str:
        return "ran"

    assert noop() == "ran"  # called as a worker calls it: through the task base class
    assert leftovers.pending() == 0 and not redis_db.exists(keys.story_lock("st_3"))
