"""Our side of WebSub, with I/O: asking a hub to (un)subscribe, answering its verification of
intent, taking the content it pushes. The rules themselves are in ``websub.py``.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import redis

from services.ingest.sources import store
from services.ingest.sources.entries import split
from services.ingest.sources.fetch import source_guard
from services.ingest.sources.model import WebSubState
from services.ingest.sources.take import ITEMS, quarantine_document, take_entries
from services.ingest.sources.websub import (
    Discovery,
    Verdict,
    callback_url,
    next_action,
    pending_for,
    request_failed,
    request_form,
    signature_valid,
    verify,
)
from shared import metrics
from shared.errors import DeliveryError, ParseError, TargetRefused
from shared.http import Client
from shared.settings import Settings

log = logging.getLogger(__name__)

FORM_TYPE = "application/x-www-form-urlencoded"
PUSHES = metrics.Counter(
    "syndicate_source_pushes_total",
    "Content pushed by upstream WebSub hubs, by what became of it.",
    ("source", "outcome"),
)


def maintain(
    client: redis.Redis,
    source_id: str,
    found: Discovery | None,
    now: datetime,
    settings: Settings,
    http: Client,
    budget: float,
) -> str | None:
    """Subscribe to an advertised hub, renew a lease near its end, or leave a hub the feed
    dropped (the request within ``budget`` seconds); returns what was asked, if anything."""
    chosen: list[tuple[str, Discovery]] = []

    def plan(state: WebSubState) -> WebSubState | None:
        chosen.clear()
        action = next_action(state, found, now)
        if action is None:
            return None
        mode, target = action
        chosen.append(action)
        pending = pending_for(
            mode,
            target,
            state,
            now,
            secrets.token_urlsafe(32),
            settings.source_websub_lease_seconds,
        )
        return state.model_copy(update={"pending": pending})

    # the request is recorded before it is sent: a hub may check our intent before it answers
    written = store.update_websub(client, source_id, plan)
    if written is None or written.pending is None or not chosen:
        return None
    pending = written.pending
    mode, target = chosen[0]
    form = request_form(pending, callback_url(settings.base_url, source_id))
    try:
        answer = http.request(
            "POST",
            target.hub,
            guard=source_guard(settings),
            data=urlencode(form).encode("ascii"),
            headers={"Content-Type": FORM_TYPE},
            timeout=(min(http.connect_timeout, budget), budget),
            # the whole request, however slowly the hub drips its answer: the poll's lock and
            # claim are leased for the fetch and this request, each within the budget
            deadline=time.monotonic() + budget,
        )
    except (TargetRefused, DeliveryError) as exc:
        _failed(client, source_id, pending, f"{mode} to {target.hub} failed: {exc.detail}", now)
        return f"{mode} failed"
    if not 200 <= answer.status < 300:
        excerpt = answer.body[:200].decode("utf-8", "replace")
        _failed(
            client,
            source_id,
            pending,
            f"the hub answered {answer.status} to {mode}: {excerpt}",
            now,
        )
        return f"{mode} refused by the hub"
    log.info("source %s: %s of %s requested from %s", source_id, mode, target.topic, target.hub)
    return f"{mode} requested"


def _failed(
    client: redis.Redis, source_id: str, pending: object, error: str, now: datetime
) -> None:
    log.warning("source %s: %s", source_id, error)
    store.update_websub(
        client,
        source_id,
        lambda state: (
            request_failed(state, state.pending, error, now)
            if state.pending == pending and state.pending is not None
            else None
        ),
    )


def verification(
    client: redis.Redis, source_id: str, params: Mapping[str, str], now: datetime
) -> Verdict:
    """Answer a hub's ``GET`` on our callback: echo the challenge only for our pending request."""
    source = store.get(client, source_id)
    if source is None or not source.enabled:
        return Verdict(404, "no such source", None)
    verdicts: list[Verdict] = []

    def decide(state: WebSubState) -> WebSubState | None:
        verdict = verify(state, params, now)
        verdicts.append(verdict)
        return verdict.state

    store.update_websub(client, source_id, decide)
    verdict = verdicts[-1] if verdicts else Verdict(404, "no such source", None)
    log.info(
        "source %s: hub %s check for %s answered %s",
        source_id,
        params.get("hub.mode"),
        params.get("hub.topic"),
        verdict.status,
    )
    return verdict


@dataclass(frozen=True)
class PushResult:
    status: int  # 202 taken, 403 signature refused, 410 not subscribed
    detail: str
    taken: int = 0
    wire_ids: tuple[str, ...] = ()


def push(
    client: redis.Redis,
    source_id: str,
    signature: str | None,
    content_type: str,
    body: bytes,
    now: datetime,
) -> PushResult:
    """Content a hub pushed: refused unless signed with our secret; else taken like a poll's."""
    result = _push(client, source_id, signature, content_type, body, now)
    outcome = {202: "taken" if result.taken else "nothing new", 403: "refused", 410: "gone"}
    PUSHES.inc(client, (source_id if result.status != 410 else "-", outcome[result.status]))
    return result


def _push(
    client: redis.Redis,
    source_id: str,
    signature: str | None,
    content_type: str,
    body: bytes,
    now: datetime,
) -> PushResult:
    loaded = store.load(client, source_id)
    if loaded is None or not loaded[0].enabled:
        return PushResult(410, "no such source (or it is disabled): unsubscribe")
    source, _state, websub, _taken = loaded
    secrets_known = (
        [websub.secret, websub.pending.secret if websub.pending else None] if websub else []
    )
    if not any(secrets_known):
        return PushResult(410, "this source holds no subscription: unsubscribe")
    if not signature_valid(signature, secrets_known, body):
        why = "missing" if not signature else "not valid"
        error = f"a push was refused at {now.isoformat()}: X-Hub-Signature {why}"
        store.update_websub(
            client, source_id, lambda state: state.model_copy(update={"last_error": error})
        )
        log.warning("source %s: %s", source_id, error)
        return PushResult(403, f"X-Hub-Signature {why}")
    try:
        document = split(body, content_type, source.format)
    except ParseError as exc:
        wire_id = quarantine_document(client, source, body, content_type, exc, now, "pushed")
        error = f"pushed content could not be read: {exc.detail} (kept as {wire_id})"
        store.update_websub(
            client, source_id, lambda state: state.model_copy(update={"last_error": error})
        )
        return PushResult(202, error, 0, (wire_id,))
    taken = take_entries(client, source, document.entries, now)
    if taken.wire_ids:
        ITEMS.inc(client, (source_id, "push"), len(taken.wire_ids))
    log.info("source %s: push took %d new entries", source_id, len(taken.wire_ids))
    return PushResult(202, "taken", len(taken.wire_ids), tuple(taken.wire_ids))
