"""The WebSub subscriber's rules (W3C Recommendation, 2018), pure: discovery, requests,
verification of intent, signatures, lease renewal.

The flow: a poll finds that the feed advertises a hub (``Link: <hub>; rel="hub"`` header first,
else ``<link rel="hub">`` / JSON Feed ``hubs`` in the document), with the topic its
``rel="self"`` names (else the URL we fetched). We record a *pending* request, then ``POST`` the
hub ``hub.mode=subscribe``, our callback ``{PUBLIC_URL}/websub/callback/{source_id}``, a fresh
secret and the lease we ask for. The hub checks our intent with a ``GET`` to the callback: we
echo ``hub.challenge`` only when it matches the pending request we made (mode and topic, not
older than ``PENDING_SECONDS``), and only once; a forged or replayed check finds nothing pending
and gets ``404``. Content the hub then ``POST``s must carry ``X-Hub-Signature`` made with our
secret, or it is refused. Before the lease ends we subscribe again (same callback and secret:
the hub renews rather than duplicates).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from services.ingest.sources.model import PendingRequest, WebSubState, WebSubStatus
from services.ingest.sources.policy import delta_seconds

#: a request the hub has not verified after this long is given up (and tried again later)
PENDING_SECONDS = 3600
#: renew when this share of the lease is left (at most a day before the end)
RENEW_SHARE = 0.25
RENEW_AT_MOST_SECONDS = 86400
#: after a hub denies us, wait this long before asking it again
DENIED_RETRY_SECONDS = 6 * 3600
#: the longest lease we believe a hub grants (a longer one is read as this: a year)
MAX_LEASE_SECONDS = 365 * 86400
#: hashes a hub may sign with (the Recommendation's list)
SIGNATURE_METHODS = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}

_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]*)*)")
_REL = re.compile(r"""rel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))""", re.IGNORECASE)

Action = Literal["subscribe", "unsubscribe"]


@dataclass(frozen=True)
class Discovery:
    """The hub a feed advertises and the topic URL to subscribe to."""

    hub: str
    topic: str


def link_header_rels(value: str | None) -> list[tuple[str, set[str]]]:
    """``Link`` header entries as (URL, its rel values)."""
    found: list[tuple[str, set[str]]] = []
    for match in _LINK.finditer(value or ""):
        rels: set[str] = set()
        for rel in _REL.finditer(match.group(2)):
            rels.update((rel.group(1) or rel.group(2) or "").lower().split())
        found.append((match.group(1).strip(), rels))
    return found


def discover(
    link_header: str | None,
    document_hubs: Iterable[str],
    document_self: str | None,
    fetched_url: str,
) -> Discovery | None:
    """The hub and topic: the ``Link`` header's when it names a hub, else the document's."""
    links = link_header_rels(link_header)
    header_hubs = [url for url, rels in links if "hub" in rels and url]
    header_self = next((url for url, rels in links if "self" in rels and url), None)
    if header_hubs:
        return Discovery(header_hubs[0], header_self or document_self or fetched_url)
    hubs = [hub for hub in document_hubs if hub]
    if hubs:
        return Discovery(hubs[0], header_self or document_self or fetched_url)
    return None


def renew_at(state: WebSubState) -> datetime | None:
    """When to subscribe again so that the lease never runs out."""
    if state.expires_at is None or state.lease_seconds is None:
        return None
    early = min(state.lease_seconds * RENEW_SHARE, RENEW_AT_MOST_SECONDS)
    return state.expires_at - timedelta(seconds=early)


def next_action(
    state: WebSubState, found: Discovery | None, now: datetime
) -> tuple[Action, Discovery] | None:
    """What to ask a hub now, if anything: subscribe to a newly advertised hub (or topic),
    renew a lease near its end, leave a hub the feed no longer advertises."""
    pending = state.pending
    if pending is not None and (now - pending.requested_at).total_seconds() < PENDING_SECONDS:
        return None  # wait for the hub's check (or give up on it later)
    if state.retry_at is not None and now < state.retry_at:
        return None
    current = Discovery(state.hub, state.topic) if state.hub and state.topic else None
    if found is None:
        if current is not None and state.active(now):
            return "unsubscribe", current
        return None
    if current != found or not state.active(now):
        return "subscribe", found
    due = renew_at(state)
    if due is not None and now >= due:
        return "subscribe", found
    return None


def pending_for(
    action: Action,
    target: Discovery,
    state: WebSubState,
    now: datetime,
    new_secret: str,
    lease_seconds: int,
) -> PendingRequest:
    """The request we are about to send (kept before sending: hubs may check at once).

    A renewal keeps the secret of the subscription it renews; a new hub or topic gets a new one.
    """
    same = state.hub == target.hub and state.topic == target.topic and state.secret
    return PendingRequest(
        mode=action,
        hub=target.hub,
        topic=target.topic,
        secret=(state.secret if same else new_secret) if action == "subscribe" else None,
        lease_seconds=lease_seconds if action == "subscribe" else None,
        requested_at=now,
    )


def request_form(pending: PendingRequest, callback: str) -> dict[str, str]:
    """The form ``POST``ed to the hub."""
    form = {"hub.mode": pending.mode, "hub.topic": pending.topic, "hub.callback": callback}
    if pending.secret:
        form["hub.secret"] = pending.secret
    if pending.lease_seconds:
        form["hub.lease_seconds"] = str(pending.lease_seconds)
    return form


@dataclass(frozen=True)
class Verdict:
    """Our answer to a hub's ``GET`` on the callback, and the state it leaves."""

    status: int
    body: str
    state: WebSubState | None  # None: unchanged


def verify(state: WebSubState, params: Mapping[str, str], now: datetime) -> Verdict:
    """Answer a verification of intent (or a denial) for the request we have pending."""
    mode = params.get("hub.mode", "")
    topic = params.get("hub.topic", "")
    pending = state.pending
    if mode == "denied":
        if topic and topic in (state.topic, pending.topic if pending else None):
            reason = params.get("hub.reason") or "denied by the hub"
            return Verdict(
                200,
                "",
                state.model_copy(
                    update={
                        "pending": None,
                        "hub": None,
                        "topic": None,
                        "expires_at": None,
                        "denied_reason": reason,
                        "retry_at": now + timedelta(seconds=DENIED_RETRY_SECONDS),
                        "last_error": f"the hub denied the subscription: {reason}",
                    }
                ),
            )
        return Verdict(404, "no subscription of this topic", None)
    challenge = params.get("hub.challenge", "")
    if (
        pending is None
        or mode != pending.mode
        or topic != pending.topic
        or not challenge
        or (now - pending.requested_at).total_seconds() > PENDING_SECONDS
    ):
        return Verdict(404, "no such request pending", None)
    if mode == "unsubscribe":
        cleared = WebSubState(failures=0, last_error=None)
        return Verdict(200, challenge, cleared)
    # ASCII digits only (``int`` takes ``²`` and ``٣`` too), at most a year; a lease that is not
    # a number is read as the one we asked for
    granted = delta_seconds(params.get("hub.lease_seconds"))
    lease = min(granted, MAX_LEASE_SECONDS) if granted is not None else pending.lease_seconds
    if not lease:
        return Verdict(404, "no lease granted", None)
    active = WebSubState(
        hub=pending.hub,
        topic=pending.topic,
        secret=pending.secret,
        lease_seconds=lease,
        expires_at=now + timedelta(seconds=lease),
        verified_at=now,
    )
    return Verdict(200, challenge, active)


def signature_valid(header_value: str | None, secrets: Iterable[str | None], body: bytes) -> bool:
    """Does ``X-Hub-Signature`` (``method=hexdigest``) match the body under one of our
    secrets? Missing, malformed or of an unknown method: no."""
    if not header_value or "=" not in header_value:
        return False
    method, _, given = header_value.strip().partition("=")
    algorithm = SIGNATURE_METHODS.get(method.strip().lower())
    if algorithm is None or not given:
        return False
    # compared as bytes: ``compare_digest`` raises on a ``str`` that is not ASCII
    offered = given.strip().lower().encode("utf-8", "replace")
    for secret in secrets:
        if secret:
            expected = hmac.new(secret.encode("utf-8"), body, algorithm).hexdigest()
            if hmac.compare_digest(expected.encode("ascii"), offered):
                return True
    return False


def request_failed(
    state: WebSubState, pending: PendingRequest, error: str, now: datetime
) -> WebSubState:
    """The hub refused or could not be reached: forget the request, wait before the next."""
    failures = state.failures + 1
    wait = min(60.0 * 2 ** min(failures, 10), 6 * 3600.0)
    return state.model_copy(
        update={
            "pending": None if state.pending == pending else state.pending,
            "failures": failures,
            "retry_at": now + timedelta(seconds=wait),
            "last_error": error,
        }
    )


def callback_url(base_url: str, source_id: str) -> str:
    return f"{base_url.rstrip('/')}/websub/callback/{source_id}"


def describe(state: WebSubState | None, now: datetime) -> WebSubStatus:
    """``none``, ``pending``, ``active``, ``expired``, ``denied`` or ``failed``."""
    if state is None:
        return "none"
    if state.active(now):
        return "active"
    if state.pending is not None:
        return "pending"
    if state.denied_reason:
        return "denied"
    if state.expires_at is not None:
        return "expired"
    if state.last_error:
        return "failed"
    return "none"
