"""One poll, in this process (the scheduler's own ``poll``), against upstreams on loopback and a
Redis database: whatever an upstream answers, the poll ends recorded (health, backoff, the
schedule); the settings and fields that steer a poll (Cache-Control, the redirect limit, the
source's format) really steer it; the health timestamps say when."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from services.ingest.sources import folder as drop
from services.ingest.sources import manage, poll, store
from services.ingest.sources.fetch import http_client
from services.ingest.sources.model import SourceIn
from services.ingest.sources.outcome import Report
from services.ingest.store import get_wire
from shared.settings import get_settings
from tests.conftest import _clear_caches
from tests.support.upstream import Answer, Upstream, rss

RSS_TYPE = "application/rss+xml; charset=utf-8"
T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def env(redis_db: redis.Redis, settings_env: pytest.MonkeyPatch, tmp_path: Path) -> redis.Redis:
    settings_env.setenv("SYNDICATE_SOURCE_MIN_INTERVAL_SECONDS", "1")
    settings_env.setenv("SYNDICATE_SOURCE_ALLOWED_NETWORKS", "127.0.0.0/8")
    settings_env.setenv("SYNDICATE_SOURCE_FOLDER_ROOTS", str(tmp_path / "drop"))
    settings_env.setenv("SYNDICATE_SOURCE_FILE_SETTLE_SECONDS", "0")
    settings_env.setenv("SYNDICATE_SOURCE_MAX_DELAY_SECONDS", "3600")
    _clear_caches()
    return redis_db


def add(client: redis.Redis, **fields: Any) -> str:
    fields.setdefault("name", "upstream")
    fields.setdefault("interval_seconds", 60)
    return manage.create(client, SourceIn(**fields), get_settings()).id


def poll_now(client: redis.Redis, source_id: str, **kwargs: Any) -> Report:
    return poll.poll(client, source_id, get_settings(), http_client(), **kwargs)


def health(client: redis.Redis, source_id: str) -> dict[str, Any]:
    return manage.show(client, source_id, get_settings()).health.model_dump()


def due_in(client: redis.Redis, source_id: str) -> float:
    due = store.due_at(client, source_id)
    assert due is not None
    return (due - store.redis_now(client)).total_seconds()


def jsonfeed(**members: Any) -> bytes:
    items = [{"id": "j-1", "content_text": "OSLO (Reuters) - Ferries run late."}]
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": items, **members}
    ).encode()


# --- whatever the upstream answers -------------------------------------------------------------


def test_a_huge_max_age_is_capped(env: redis.Redis, upstream: Upstream) -> None:
    url = upstream.serve(
        "/fresh-forever",
        Answer(
            200,
            {"Content-Type": RSS_TYPE, "Cache-Control": "max-age=" + "9" * 400, "Age": "²"},
            rss([("a", "Tugs wait for the tide")]),
        ),
    )
    source_id = add(env, url=url)
    report = poll_now(env, source_id)
    assert report.outcome == "ok" and report.taken == 1
    assert report.next_poll_reason == "cache-control max-age"
    assert 3500 < due_in(env, source_id) <= 3600  # SYNDICATE_SOURCE_MAX_DELAY_SECONDS


def test_a_retry_after_in_unicode_digits_is_no_retry_after(
    env: redis.Redis, upstream: Upstream
) -> None:
    url = upstream.serve("/squared", Answer(429, {"Retry-After": "²"}, b"slow down"))
    source_id = add(env, url=url, interval_seconds=10)
    report = poll_now(env, source_id)
    assert report.outcome == "throttled" and report.next_poll_reason == "backoff (1 failed)"
    recorded = health(env, source_id)
    assert recorded["status"] == "failing" and recorded["last_status"] == 429
    assert recorded["last_error"] == "the upstream answered 429"
    assert 17 < due_in(env, source_id) <= 22  # 10 s × 2, ±10%


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (jsonfeed(hubs=5), "hubs is int"),
        (jsonfeed(hubs=[{"type": "WebSub", "url": {"x": 1}}]), "hubs[0].url is dict"),
        (jsonfeed(items=[{"id": ["j", 1]}]), "items[0].id is list"),
    ],
)
def test_a_json_feed_of_the_wrong_shape_is_kept_and_quarantined(
    env: redis.Redis, upstream: Upstream, body: bytes, why: str
) -> None:
    url = upstream.serve("/odd.json", Answer(200, {"Content-Type": "application/feed+json"}, body))
    source_id = add(env, url=url, interval_seconds=10)
    report = poll_now(env, source_id)
    assert report.outcome == "error" and report.error is not None and why in report.error
    assert report.next_poll_reason == "backoff (1 failed)"
    (wire_id,) = [w for w in report.error.split() if w.startswith("wire_")]
    kept = get_wire(env, wire_id.rstrip(")"))
    assert kept is not None and kept.status == "quarantined" and kept.source_id == source_id
    assert health(env, source_id)["consecutive_failures"] == 1


def test_an_unexpected_exception_is_a_recorded_failure_with_backoff(
    env: redis.Redis, upstream: Upstream, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A bug, or an answer nobody foresaw: the poll still ends recorded, backed off and
    rescheduled, never as an exception the poller can only log (which left the source due
    again a lease later, with nothing in its health)."""
    url = upstream.serve("/f", Answer(200, {"Content-Type": RSS_TYPE}, rss([("a", "A pier")])))
    feed = add(env, url=url, interval_seconds=10)
    folder = tmp_path / "drop" / "desk"
    folder.mkdir(parents=True)
    desk = add(env, path=str(folder), interval_seconds=10)

    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("nobody foresaw this")

    monkeypatch.setattr(poll, "take_entries", boom)
    monkeypatch.setattr(drop, "scan", boom)
    for source_id in (feed, desk):
        report = poll_now(env, source_id)
        assert report.outcome == "error" and report.next_poll_reason == "backoff (1 failed)"
        recorded = health(env, source_id)
        assert recorded["status"] == "failing" and recorded["consecutive_failures"] == 1
        assert recorded["last_error"] == (
            "the poll failed unexpectedly: RuntimeError: nobody foresaw this"
        )
        assert recorded["last_poll_at"] is not None and recorded["last_error_at"] is not None
        assert 17 < due_in(env, source_id) <= 22

    monkeypatch.undo()
    assert poll_now(env, feed).outcome == "ok"  # and it recovers
    assert health(env, feed)["status"] == "ok"


# --- what steers a poll -------------------------------------------------------------------------


def test_cache_control_max_age_delays_the_next_poll(env: redis.Redis, upstream: Upstream) -> None:
    url = upstream.serve(
        "/cached",
        Answer(
            200,
            {"Content-Type": RSS_TYPE, "Cache-Control": "public, max-age=600", "Age": "100"},
            rss([("c", "Cranes stand idle")]),
        ),
    )
    source_id = add(env, url=url, interval_seconds=5)
    report = poll_now(env, source_id)
    assert report.next_poll_reason == "cache-control max-age"
    assert health(env, source_id)["next_poll_reason"] == "cache-control max-age"
    assert 495 < due_in(env, source_id) <= 500  # max-age less Age, not the 5 s interval
    assert store.claim_due(env, store.redis_now(env), 60, 10) == []  # not due: not polled


def test_the_redirect_limit_is_the_setting(
    env: redis.Redis, upstream: Upstream, settings_env: pytest.MonkeyPatch
) -> None:
    final = upstream.serve("/hop-2", Answer(200, {"Content-Type": RSS_TYPE}, rss([("r", "R")])))
    upstream.serve("/hop-1", Answer(302, {"Location": final}))
    start = upstream.serve("/hop-0", Answer(302, {"Location": upstream.url("/hop-1")}))
    source_id = add(env, url=start)
    settings_env.setenv("SYNDICATE_SOURCE_MAX_REDIRECTS", "1")
    _clear_caches()
    cut = poll_now(env, source_id)
    assert cut.outcome == "error" and cut.error is not None
    assert "more than 1 redirects" in cut.error  # the second hop was not followed
    assert [hit.path for hit in upstream.hits] == ["/hop-0", "/hop-1"]
    settings_env.setenv("SYNDICATE_SOURCE_MAX_REDIRECTS", "2")
    _clear_caches()
    followed = poll_now(env, source_id)
    assert followed.outcome == "ok" and followed.taken == 1


def test_the_sources_format_decides_how_the_document_is_read(
    env: redis.Redis, upstream: Upstream
) -> None:
    """The same RSS document: read as RSS it is taken; a source read as Atom refuses it."""
    url = upstream.serve(
        "/which", Answer(200, {"Content-Type": "application/xml"}, rss([("f", "F")]))
    )
    as_rss = add(env, url=url, format="rss")
    as_atom = add(env, url=url, format="atom")
    assert poll_now(env, as_rss).taken == 1
    refused = poll_now(env, as_atom)
    assert refused.outcome == "error" and refused.taken == 0
    assert refused.error is not None and "read as atom, but the document is rss" in refused.error


def test_the_health_timestamps_say_when(env: redis.Redis, upstream: Upstream) -> None:
    """``last_poll_at`` every poll; ``last_success_at`` only a success; ``last_error_at`` only
    a failure, and kept (as history) after a recovery."""
    answers = iter(
        [
            Answer(200, {"Content-Type": RSS_TYPE}, rss([("t", "Tides")])),
            Answer(500, {}, b"down"),
            Answer(200, {"Content-Type": RSS_TYPE}, rss([("t", "Tides")])),
        ]
    )
    url = upstream.serve("/times", lambda _hit: next(answers))
    source_id = add(env, url=url)
    assert health(env, source_id)["last_poll_at"] is None

    times = [T0, T0 + timedelta(minutes=5), T0 + timedelta(minutes=10)]
    seen: list[dict[str, Any]] = []
    for when in times:
        poll_now(env, source_id, clock=lambda _client, when=when: when)
        seen.append(health(env, source_id))
    first, failed, recovered = seen
    assert (first["last_poll_at"], first["last_success_at"]) == (times[0], times[0])
    assert first["last_error_at"] is None
    assert (failed["last_poll_at"], failed["last_success_at"]) == (times[1], times[0])
    assert failed["last_error_at"] == times[1] and failed["status"] == "failing"
    assert (recovered["last_poll_at"], recovered["last_success_at"]) == (times[2], times[2])
    assert recovered["last_error_at"] == times[1] and recovered["status"] == "ok"


# --- drop folders -------------------------------------------------------------------------------


def test_a_file_named_done_does_not_wedge_the_folder(env: redis.Redis, tmp_path: Path) -> None:
    """Before: the file ``done`` was taken, then every poll failed to make the folder ``done/``
    (``File exists``): the source wedged. Now the file is left alone, and a file that cannot be
    moved fails alone (named in ``last_error``) while the source stays ``ok``."""
    folder = tmp_path / "drop" / "desk"
    folder.mkdir(parents=True)
    copy = (Path(__file__).parents[2] / "data" / "plain_wire.txt").read_bytes()
    (folder / "done").write_bytes(copy)
    (folder / "story.txt").write_bytes(copy)
    source_id = add(env, path=str(folder), interval_seconds=1)
    assert poll_now(env, source_id).outcome == "ok"  # first look: watched
    stuck = poll_now(env, source_id)
    assert stuck.outcome == "ok" and stuck.taken == 1
    assert [f.split(":")[0] for f in stuck.failed_files] == ["story.txt"]
    recorded = health(env, source_id)
    assert recorded["status"] == "ok" and "story.txt: left in place" in recorded["last_error"]
    assert (folder / "done").read_bytes() == copy and (folder / "story.txt").exists()

    (folder / "done").unlink()  # someone clears the way
    poll_now(env, source_id)
    again = poll_now(env, source_id)
    assert again.outcome == "ok" and again.taken == 0  # the same raw item: not taken twice
    assert (folder / "done" / "story.txt").read_bytes() == copy
    assert health(env, source_id)["items_taken"] == 1
