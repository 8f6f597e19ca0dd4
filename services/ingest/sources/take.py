"""From a source to ingest's one path: each new or changed entry, and each complete file,
becomes an accepted raw item (``GET /v1/wire/{id}`` shows what became of it) and is sent to
``process_wire`` like pushed copy. No second parsing path, no second identity rule.

Raw items from sources get **derived ids** (source, entry key, entry digest; or source, file
name, size, mtime, SHA-256), stored only if absent: a poll that runs twice (a scheduler killed
mid-poll, a push that races a poll) stores and counts each item once. A feed document we cannot
read is kept too, quarantined with its error under a derived id (once per distinct body).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import redis

from services.ingest import store as wire_store
from services.ingest.formats import MEDIA_TYPES, ParseContext, parse
from services.ingest.precheck import precheck
from services.ingest.sources import folder as drop
from services.ingest.sources import store
from services.ingest.sources.entries import Entry, iter_new
from services.ingest.sources.model import Source
from shared import metrics, names
from shared.celery_app import send
from shared.errors import ParseError
from shared.ids import derived_id
from shared.models import WireItem

log = logging.getLogger(__name__)

#: ``via``: ``feed`` or ``folder`` (a poll's), ``push`` (what a WebSub hub pushed)
ITEMS = metrics.Counter(
    "syndicate_source_items_total",
    "Raw items taken from upstream sources (entries, files, pushes).",
    ("source", "via"),
)

#: the Content-Type a dropped file is stored with, per forced format (``auto``: detect)
FILE_CONTENT_TYPES: dict[str, str] = {"auto": "application/octet-stream"}
for _media, _fmt in MEDIA_TYPES.items():
    if _fmt != "auto":
        FILE_CONTENT_TYPES.setdefault(_fmt, _media)


@dataclass
class Taken:
    """What taking a document or a folder's files produced."""

    wire_ids: list[str] = field(default_factory=list)  # new raw items, sent to ingest
    quarantined: list[str] = field(default_factory=list)  # files stored, but unreadable copy
    changed: int = 0  # of which changes of entries taken before
    seen: int = 0  # entries already taken, unchanged
    failed: list[str] = field(default_factory=list)  # files moved to failed/ (or left), why


def _item(
    wire_id: str, source: Source, entry: str, body: bytes, content_type: str, now: datetime
) -> WireItem:
    return WireItem(
        id=wire_id,
        received_at=now,
        content_type=content_type,
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        source_id=source.id,
        source_entry=entry[:500],
        default_agency=source.agency,
    )


def _accept(client: redis.Redis, item: WireItem, body: bytes) -> bool:
    """Store the raw item unless a run before us did, and send it to ingest (again, if that run
    stored it but may have died before sending; the outbox entry stored with it covers a send
    that fails here). True when this call stored it."""
    stored = wire_store.save_wire_once(client, item, body)
    if stored:
        send(names.TASK_INGEST_WIRE, item.id)
    else:
        earlier = wire_store.get_wire(client, item.id)
        if earlier is not None and earlier.status == "accepted":
            send(names.TASK_INGEST_WIRE, item.id)
    return stored


def take_entries(client: redis.Redis, source: Source, entries: list[Entry], now: datetime) -> Taken:
    """Send every entry not taken before (or changed since) to ingest, oldest first."""
    known = store.known_digests(client, source.id, [entry.key for entry in entries])
    taken = Taken()
    digests: dict[str, str] = {}
    for entry, changed in iter_new(entries, known):
        wire_id = derived_id("wire", "source", source.id, entry.key, entry.digest)
        item = _item(wire_id, source, entry.key, entry.body, entry.content_type, now)
        if _accept(client, item, entry.body):
            taken.wire_ids.append(wire_id)
            taken.changed += int(changed)
        digests[entry.key] = entry.digest
    taken.seen = len(entries) - len(digests)
    store.mark_seen(client, source.id, digests, [entry.key for entry in entries], now)
    store.add_taken(client, source.id, taken.wire_ids, now)
    return taken


def quarantine_document(
    client: redis.Redis,
    source: Source,
    body: bytes,
    content_type: str,
    error: ParseError,
    now: datetime,
    via: str,
) -> str:
    """Keep a feed document we cannot read, quarantined with its error (once per body)."""
    digest = hashlib.sha256(body).hexdigest()
    wire_id = derived_id("wire", "source-document", source.id, digest)
    item = _item(wire_id, source, f"{via} document", body, content_type, now)
    if wire_store.save_wire_once(client, item, body, pending=False):
        wire_store.quarantine(client, item, error, now)
    return wire_id


def take_files(
    client: redis.Redis,
    source: Source,
    where: Path,
    complete: list[drop.Seen],
    now: datetime,
    max_bytes: int,
) -> Taken:
    """Take each complete file: a raw item sent to ingest and the file moved to ``done/``; a
    file that is too big, empty or unreadable copy goes to ``failed/`` with the reason (copy we
    cannot parse is also stored and quarantined, like a ``422`` at ``POST /v1/wire``). A file
    the file system will not let us read or move fails alone (named in the source's
    ``last_error``, left where it is, tried again at a later poll); the others are taken."""
    taken = Taken()
    content_type = FILE_CONTENT_TYPES.get(source.format, "application/octet-stream")
    for seen in complete:
        try:
            _take_file(client, source, where, seen, now, max_bytes, content_type, taken)
        except FileNotFoundError:
            continue  # moved away meanwhile (another scheduler took it)
        except OSError as exc:
            log.warning("source %s: %s left in place: %s", source.id, seen.name, exc)
            taken.failed.append(f"{seen.name}: left in place: {exc}")
    store.add_taken(client, source.id, taken.wire_ids + taken.quarantined, now)
    return taken


def _take_file(
    client: redis.Redis,
    source: Source,
    where: Path,
    seen: drop.Seen,
    now: datetime,
    max_bytes: int,
    content_type: str,
    taken: Taken,
) -> None:
    body = drop.read(where, seen.name, max_bytes)
    if body is None or not body.strip():
        why = f"over {max_bytes} bytes" if body is None else "the file is empty"
        drop.finish(where, seen.name, drop.FAILED, at=now, reason=why)
        taken.failed.append(f"{seen.name}: {why}")
        return
    digest = hashlib.sha256(body).hexdigest()
    wire_id = derived_id(
        "wire", "source-file", source.id, seen.name, str(seen.size), str(seen.mtime_ns), digest
    )
    item = _item(wire_id, source, seen.name, body, content_type, now)
    problem = _unreadable(body, content_type, source, now)
    if problem is not None:
        if wire_store.save_wire_once(client, item, body, pending=False):
            wire_store.quarantine(client, item, problem, now)
            taken.quarantined.append(wire_id)
        drop.finish(where, seen.name, drop.FAILED, at=now, wire_id=wire_id, reason=problem.detail)
        taken.failed.append(f"{seen.name}: {problem.detail}")
        return
    if _accept(client, item, body):
        taken.wire_ids.append(wire_id)
    drop.finish(where, seen.name, drop.DONE, at=now, wire_id=wire_id)
    log.info("source %s: %s taken as %s", source.id, seen.name, wire_id)


def _unreadable(body: bytes, content_type: str, source: Source, now: datetime) -> ParseError | None:
    """Why this file cannot become a story: the API's pre-check, then the parse ingest will
    make (pure; its result is thrown away: the ingest task parses for real)."""
    problem = precheck(body, content_type)
    if problem is not None:
        return problem
    try:
        parse(
            body,
            ParseContext(received=now, content_type=content_type, default_agency=source.agency),
        )
    except ParseError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - a parser crash fails the file, as the task would
        return ParseError(f"the parser failed: {type(exc).__name__}: {exc}")
    return None
