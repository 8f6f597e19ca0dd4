"""Creating, changing, listing and removing sources: what ``/v1/sources`` and ``syndicate
sources`` both call, so the two never disagree on a rule.

Rules: a source is a feed (``url``, checked by the SSRF guard at once) or a drop folder
(``path``, absolute and under a root of ``SYNDICATE_SOURCE_FOLDER_ROOTS``), never both; its
interval is at least ``SYNDICATE_SOURCE_MIN_INTERVAL_SECONDS``; its format is ``auto`` or one it
can be read as. An enabled source is polled at once and then on its schedule; a disabled one is
off the schedule, and our WebSub subscription for it is dropped (the hub's next push gets
``410 Gone``, which ends it).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import redis

from services.ingest.agencies import canonical_agency
from services.ingest.formats import FORMATS
from services.ingest.sources import store
from services.ingest.sources.fetch import budget, max_bytes, source_guard
from services.ingest.sources.folder import check_path
from services.ingest.sources.model import (
    FEED_FORMATS,
    Health,
    SourceIn,
    SourceOut,
    SourcePatch,
    TakenItem,
    TakenList,
    WebSubOut,
    WebSubState,
)
from services.ingest.sources.model import Source as SourceConfig
from services.ingest.sources.websub import describe
from services.ingest.store import get_wire
from shared.errors import Conflict, InvalidInput, NotFound
from shared.ids import random_id
from shared.netguard import check_url
from shared.settings import Settings

MIN_INTERVAL_SETTING = "SYNDICATE_SOURCE_MIN_INTERVAL_SECONDS"
FOLDER_FORMATS: tuple[str, ...] = ("auto", *FORMATS)


#: C0 and C1 control characters and DEL: in no URL, folder or name we keep
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _no_controls(value: str, field: str) -> str:
    found = _CONTROLS.search(value)
    if found is not None:
        raise InvalidInput(
            f"{field} holds a control character ({ord(found.group()):#04x})",
            extra={"field": field},
        )
    return value


def _name(value: str) -> str:
    name = _no_controls(value, "name").strip()
    if not name:
        raise InvalidInput("name must not be blank", extra={"field": "name"})
    return name


def _path(value: str, settings: Settings) -> str:
    return str(check_path(_no_controls(value, "path"), settings.source_roots))


def _check_url(url: str, settings: Settings) -> str:
    _no_controls(url, "url")
    guard = source_guard(settings)
    check_url(
        url,
        allowed=guard.allowed,
        allow_http=guard.allow_http,
        allow_setting=guard.allow_setting,
        http_setting=guard.http_setting,
    )
    return url


def _interval(asked: int | None, settings: Settings) -> int:
    minimum = settings.source_min_interval_seconds
    if asked is None:
        return max(settings.source_default_interval_seconds, minimum)
    if asked < minimum:
        raise InvalidInput(
            f"interval_seconds {asked} is below the minimum of {minimum} ({MIN_INTERVAL_SETTING})",
            extra={"field": "interval_seconds"},
        )
    return asked


def _format(fmt: str, kind: str) -> str:
    allowed = FEED_FORMATS if kind == "feed" else FOLDER_FORMATS
    if fmt not in allowed:
        what = "a feed" if kind == "feed" else "a drop folder"
        raise InvalidInput(
            f"format {fmt!r} is not one {what} can be read as; one of {', '.join(allowed)}",
            extra={"field": "format"},
        )
    return fmt


def _agency(name: str | None) -> str | None:
    name = (name or "").strip()
    return (canonical_agency(name) or name) if name else None


def build(body: SourceIn, settings: Settings, now: datetime) -> SourceConfig:
    """A new source from a request, every rule checked (``InvalidInput`` says which broke)."""
    if (body.url is None) == (body.path is None):
        raise InvalidInput(
            "give either url (an RSS, Atom or JSON Feed) or path (a drop folder), not both",
            extra={"field": "url"},
        )
    kind = "feed" if body.url is not None else "folder"
    return SourceConfig(
        id=random_id("src"),
        name=_name(body.name),
        kind=kind,
        url=_check_url(body.url, settings) if body.url is not None else None,
        path=_path(body.path, settings) if body.path is not None else None,
        agency=_agency(body.agency),
        interval_seconds=_interval(body.interval_seconds, settings),
        format=_format(body.format, kind),
        enabled=body.enabled,
        timeout_seconds=body.timeout_seconds,
        max_bytes=body.max_bytes,
        created_at=now,
        updated_at=now,
    )


def changed(
    source: SourceConfig, patch: SourcePatch, settings: Settings, now: datetime
) -> SourceConfig:
    """The source with the patch applied, every rule checked."""
    given = patch.model_dump(exclude_unset=True)
    if given.get("url") is not None and source.kind != "feed":
        raise InvalidInput("a drop folder has a path, not a url", extra={"field": "url"})
    if given.get("path") is not None and source.kind != "folder":
        raise InvalidInput("a feed has a url, not a path", extra={"field": "path"})
    update: dict[str, Any] = {"updated_at": now}
    for name, value in given.items():
        if value is None and name in (
            "name",
            "url",
            "path",
            "format",
            "enabled",
            "interval_seconds",
        ):
            raise InvalidInput(f"{name} cannot be null", extra={"field": name})
    if "name" in given:
        update["name"] = _name(given["name"])
    if "url" in given:
        update["url"] = _check_url(given["url"], settings)
    if "path" in given:
        update["path"] = _path(given["path"], settings)
    if "agency" in given:
        update["agency"] = _agency(given["agency"])
    if "interval_seconds" in given:
        update["interval_seconds"] = _interval(given["interval_seconds"], settings)
    if "format" in given:
        update["format"] = _format(given["format"], source.kind)
    if "enabled" in given:
        update["enabled"] = given["enabled"]
        if given["enabled"]:
            update["disabled_reason"] = None
        elif source.enabled:
            update["disabled_reason"] = f"disabled by a user at {now.isoformat()}"
    for name in ("timeout_seconds", "max_bytes"):
        if name in given:
            update[name] = given[name]
    return source.model_copy(update=update)


# --- with Redis ---------------------------------------------------------------------------------


def create(client: redis.Redis, body: SourceIn, settings: Settings) -> SourceOut:
    now = store.redis_now(client)
    source = build(body, settings, now)
    store.create(client, source, now if source.enabled else None)
    return show(client, source.id, settings)


def update(
    client: redis.Redis, source_id: str, patch: SourcePatch, settings: Settings
) -> SourceOut:
    source = load(client, source_id)
    now = store.redis_now(client)
    new = changed(source, patch, settings, now)
    if not store.save_config(client, new):
        raise NotFound(f"No source {source_id!r}.", resource=source_id)
    where_changed = new.url != source.url or new.path != source.path
    if where_changed or not new.enabled:
        store.clear_websub(client, source_id)  # the old subscription is not ours to keep
    if not new.enabled:
        store.unschedule(client, source_id)
    elif where_changed or not source.enabled or new.interval_seconds != source.interval_seconds:
        store.schedule(client, source_id, now)  # poll the new arrangement at once
    return show(client, source_id, settings)


def remove(client: redis.Redis, source_id: str) -> None:
    if not store.delete(client, source_id):
        raise NotFound(f"No source {source_id!r}.", resource=source_id)


def poll_soon(client: redis.Redis, source_id: str, settings: Settings) -> SourceOut:
    """Put the source first in line: a scheduler polls it within a moment."""
    source = load(client, source_id)
    if not source.enabled:
        raise Conflict(f"Source {source_id!r} is disabled; enable it first.", resource=source_id)
    store.schedule(client, source_id, store.redis_now(client))
    return show(client, source_id, settings)


def load(client: redis.Redis, source_id: str) -> SourceConfig:
    source = store.get(client, source_id)
    if source is None:
        raise NotFound(f"No source {source_id!r}.", resource=source_id)
    return source


def show(client: redis.Redis, source_id: str, settings: Settings) -> SourceOut:
    """A source as the API shows it: configuration, health, WebSub (never the secret)."""
    loaded = store.load(client, source_id)
    if loaded is None:
        raise NotFound(f"No source {source_id!r}.", resource=source_id)
    source, state, websub, taken = loaded
    now = store.redis_now(client)
    due = store.due_at(client, source_id)
    status = (
        "disabled"
        if not source.enabled
        else "new"
        if state.last_poll_at is None
        else "failing"
        if state.failures
        else "ok"
    )
    health = Health(
        status=status,
        last_poll_at=state.last_poll_at,
        last_success_at=state.last_success_at,
        last_outcome=state.last_outcome,
        last_status=state.last_status,
        last_error=state.last_error,
        last_error_at=state.last_error_at,
        consecutive_failures=state.failures,
        items_taken=taken,
        next_poll_at=due if source.enabled else None,
        next_poll_reason=state.next_poll_reason if source.enabled else None,
        etag=state.etag,
        last_modified=state.last_modified,
    )
    websub_out = _websub_out(websub or WebSubState(), now) if source.kind == "feed" else None
    return SourceOut(
        **source.model_dump(exclude={"timeout_seconds", "max_bytes"}),
        timeout_seconds=budget(source, settings),
        max_bytes=max_bytes(source, settings),
        health=health,
        websub=websub_out,
    )


def _websub_out(state: WebSubState, now: datetime) -> WebSubOut:
    pending = state.pending
    return WebSubOut(
        state=describe(state, now),
        hub=state.hub or (pending.hub if pending else None),
        topic=state.topic or (pending.topic if pending else None),
        expires_at=state.expires_at,
        verified_at=state.verified_at,
        pending_mode=pending.mode if pending else None,
        last_error=state.last_error,
    )


def show_all(client: redis.Redis, settings: Settings) -> list[SourceOut]:
    found = []
    for source_id in store.ids(client):
        try:
            found.append(show(client, source_id, settings))
        except NotFound:
            continue  # removed while listing
    return found


def taken(client: redis.Redis, source_id: str, limit: int, offset: int) -> TakenList:
    load(client, source_id)
    total, wire_ids = store.taken_items(client, source_id, limit, offset)
    items = []
    for wire_id in wire_ids:
        item = get_wire(client, wire_id)
        if item is not None:
            items.append(
                TakenItem(
                    id=item.id,
                    entry=item.source_entry,
                    received_at=item.received_at,
                    status=item.status,
                    story_ids=item.story_ids,
                )
            )
    return TakenList(total=total, items=items)
