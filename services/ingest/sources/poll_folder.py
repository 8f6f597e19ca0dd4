"""One poll of a drop folder: scan, judge each file's completeness, take the complete ones."""

from __future__ import annotations

import logging
import random
from datetime import datetime
from pathlib import Path

import redis

from services.ingest.sources import folder as drop
from services.ingest.sources import store
from services.ingest.sources.fetch import max_bytes
from services.ingest.sources.model import Outcome, PollState, Source
from services.ingest.sources.outcome import Clock, Report, failure
from services.ingest.sources.policy import Plan, plan_success
from services.ingest.sources.take import Taken, take_files
from shared.errors import InvalidInput
from shared.settings import Settings

log = logging.getLogger(__name__)


def poll_folder(
    client: redis.Redis,
    source: Source,
    state: PollState,
    settings: Settings,
    clock: Clock,
    rng: random.Random,
) -> tuple[Report, Plan, PollState]:
    """Take the folder's complete files; a missing or unreadable folder is the source's error,
    a file that fails is not (it is in ``failed/``, named in ``last_error``)."""
    report = Report(source.id, "error")
    now = clock(client)
    try:
        where = drop.check_path(source.path or "", settings.source_roots)
        if not where.is_dir():
            raise FileNotFoundError(f"folder {where} does not exist")
        taken, watching = _take_folder(client, source, where, settings, now)
    except InvalidInput as exc:
        return failure(report, state, source, settings, now, rng, exc.detail)
    except OSError as exc:
        return failure(report, state, source, settings, now, rng, f"folder unreadable: {exc}")
    report.outcome = "ok"
    report.taken = len(taken.wire_ids)
    report.failed_files = taken.failed
    outcome: Outcome = "ok"
    update: dict[str, object] = {
        "failures": 0,
        "last_success_at": now,
        "last_outcome": outcome,
        "last_status": None,
    }
    if taken.failed:
        update |= {"last_error": f"a file failed: {taken.failed[-1]}", "last_error_at": now}
    plan = plan_success(now, source.interval_seconds, settings.source_max_delay_seconds)
    log.debug("source %s: watching %d files", source.id, watching)
    return report, plan, state.model_copy(update=update)


def _take_folder(
    client: redis.Redis, source: Source, where: Path, settings: Settings, now: datetime
) -> tuple[Taken, int]:
    before = store.watches(client, source.id)
    current: dict[str, drop.Watch] = {}
    complete: list[drop.Seen] = []
    for seen in drop.scan(where):
        watch, done = drop.judge(
            before.get(seen.name), seen, now.timestamp(), settings.source_file_settle_seconds
        )
        if done:
            complete.append(seen)
        else:
            current[seen.name] = watch
    taken = take_files(client, source, where, complete, now, max_bytes(source, settings))
    store.save_watches(client, source.id, current, [name for name in before if name not in current])
    return taken, len(current)
