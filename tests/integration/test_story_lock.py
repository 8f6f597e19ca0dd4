"""Locks a Redis outage left held (the ingest task's story lock here; publish's delivery lock and
slot go the same way): a release that Redis refused is made before the process's next task
(``shared.leftovers``, called by the task base class), so the lock does not hold the story (and
the one-task-at-a-time ingest worker) until its TTL runs out."""

from __future__ import annotations

import pytest
import redis

from services.ingest import locks
from shared import keys, leftovers
from shared.locks import TokenLock as Lock


def test_a_lock_whose_release_failed_is_released_by_the_next_run(
    redis_db: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_release = Lock.release
    failures = []

    def release_while_redis_is_away(self: Lock) -> None:
        failures.append(self.key)
        if len(failures) == 1:
            raise redis.ConnectionError("Connection refused")
        real_release(self)  # Redis is back

    monkeypatch.setattr(Lock, "release", release_while_redis_is_away)
    lock = locks.story_lock(redis_db, "st_1")
    lock.wait()
    lock.let_go()  # the run ends as Redis goes away
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
            refusals.append(self.key)
            raise redis.ConnectionError("Connection refused")
        real_release(self)

    monkeypatch.setattr(Lock, "release", refused)
    lock = locks.story_lock(redis_db, "st_2")
    lock.wait()
    lock.let_go()
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
            refusals.append(self.key)
            raise redis.ConnectionError("Connection refused")
        real_release(self)

    monkeypatch.setattr(Lock, "release", refused)
    lock = locks.story_lock(redis_db, "st_3")
    lock.wait()
    lock.let_go()
    monkeypatch.setattr(Lock, "release", real_release)
    assert leftovers.pending() == 1

    @get_celery().task(name="tests.noop")
    def noop() -> str:
        return "ran"

    assert noop() == "ran"  # called as a worker calls it: through the task base class
    assert leftovers.pending() == 0 and not redis_db.exists(keys.story_lock("st_3"))


def test_a_run_waits_for_a_story_another_run_holds_and_leaves_no_lock_behind(
    redis_db: redis.Redis,
) -> None:
    """The task takes the story's lock with its read of the story and releases it with the
    write of the new version: a story another run holds is waited for, and no lock is left."""
    import threading
    import time

    from services.ingest.formats import ParseContext, parse
    from services.ingest.tasks import story_id_for
    from tests.integration.test_ingest_versions import nitf, save

    body = nitf()
    (draft,) = parse(body, ParseContext(received=None))
    story_id = story_id_for(draft)
    other = locks.story_lock(redis_db, story_id)
    other.wait()  # another run is deciding this story
    released: list[float] = []

    def let_go() -> None:
        other.release()
        released.append(time.monotonic())

    threading.Timer(0.3, let_go).start()
    from services.ingest.tasks import process_wire

    item = save(redis_db, body)
    assert process_wire(item.id) == "parsed"
    finished = time.monotonic()
    assert released and released[0] <= finished, "it waited for the other run to let go"
    assert not redis_db.exists(keys.story_lock(story_id)), "and left no lock behind"
