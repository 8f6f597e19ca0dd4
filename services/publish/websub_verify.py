"""Verification of intent for the WebSub hub: the ``GET`` to a callback, and what follows.

A subscribe or unsubscribe request takes effect only when the callback echoes our random
challenge with a 2xx; a request for a topic we refuse is answered with ``hub.mode=denied``. Only
the newest request for a (topic, callback) pair may take effect, so a quick subscribe-then-
unsubscribe ends unsubscribed whatever order the checks finish in.
"""

from __future__ import annotations

import logging
from datetime import datetime

import redis

from services.publish import follows, websub_store
from services.publish.targets import http_client, webhook_guard
from services.publish.websub import (
    Intent,
    challenge_echoed,
    denial_params,
    subscription_from,
    verification_params,
)
from shared.errors import DeliveryError, TargetRefused
from shared.settings import Settings

log = logging.getLogger(__name__)


def verify(
    client: redis.Redis, intent_id: str, now: datetime, settings: Settings, challenge: str
) -> str:
    """Check one pending intent with ``challenge``; returns its new state."""
    intent = websub_store.get_intent(client, intent_id)
    if intent is None or intent.state != "pending":
        return "nothing to do"
    if intent.denied_reason is not None:
        return _deny(client, intent, settings)
    params = verification_params(intent.mode, intent.topic, challenge, intent.lease_seconds)
    try:
        answer = http_client(settings).request(
            "GET", intent.callback, guard=webhook_guard(settings), params=params
        )
    except TargetRefused as exc:
        return _finish(client, intent, "failed", f"refused by the SSRF guard: {exc.detail}")
    except DeliveryError as exc:
        return _finish(client, intent, "failed", f"the callback could not be reached: {exc.detail}")
    if not challenge_echoed(answer.status, answer.body, challenge):
        detail = (
            f"the callback answered {answer.status} without echoing hub.challenge; "
            "the request does not take effect"
        )
        return _finish(client, intent, "failed", detail)
    subscription = None
    if intent.mode == "subscribe":
        existing = websub_store.get(client, intent.subscription_id)
        subscription = subscription_from(intent, now, existing.created_at if existing else None)
    if not websub_store.apply_intent(client, intent, subscription):
        return _finish(client, intent, "superseded", "a newer request for this pair came in")
    follows.refresh(client, now)  # render renders (and announces) what is followed at once
    detail = (
        f"active until {subscription.expires_at.isoformat()}"
        if subscription is not None
        else "unsubscribed"
    )
    return _finish(client, intent, "verified", detail)


def _deny(client: redis.Redis, intent: Intent, settings: Settings) -> str:
    reason = intent.denied_reason or "denied"
    try:
        http_client(settings).request(
            "GET",
            intent.callback,
            guard=webhook_guard(settings),
            params=denial_params(intent.topic, reason),
        )
    except (TargetRefused, DeliveryError) as exc:
        log.info("denial to %s not delivered: %s", intent.callback, exc.detail)
    return _finish(client, intent, "denied", reason)


def _finish(client: redis.Redis, intent: Intent, state: str, detail: str) -> str:
    done = intent.model_copy(update={"state": state, "detail": detail})
    websub_store.finish_intent(client, done)
    log.info(
        "WebSub %s of %s for %s: %s (%s)", intent.mode, intent.topic, intent.callback, state, detail
    )
    return state
