"""The WebSub hub's HTTP side: ``POST /websub`` (public, per the W3C Recommendation) and a
read-only listing of active subscriptions for operators."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from services.publish import websub_store
from services.publish.targets import check_client_url
from services.publish.websub import (
    Intent,
    WebSubSubscription,
    grant_lease,
    parse_hub_request,
    subscription_id_for,
    topic_feed,
)
from shared import feedstore, names
from shared.auth import Caller
from shared.celery_app import send
from shared.errors import BadRequest, NotFound, PayloadTooLarge, UnsupportedMediaType
from shared.ids import random_id
from shared.problems import problem_responses
from shared.redis_conn import get_redis
from shared.settings import get_settings

router = APIRouter(tags=["websub"])

MAX_FORM_BYTES = 16 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"


class WebSubSubscriptionOut(BaseModel):
    id: str
    topic: str
    callback: str
    signed: bool
    lease_seconds: int
    expires_at: datetime
    created_at: datetime
    verified_at: datetime

    @classmethod
    def of(cls, sub: WebSubSubscription) -> WebSubSubscriptionOut:
        return cls(
            **sub.model_dump(include={"id", "topic", "callback", "lease_seconds"}),
            signed=sub.secret is not None,
            expires_at=sub.expires_at,
            created_at=sub.created_at,
            verified_at=sub.verified_at,
        )


class WebSubSubscriptionList(BaseModel):
    items: list[WebSubSubscriptionOut]


@router.post(
    "/websub",
    status_code=202,
    responses={
        202: {"description": "Accepted; the callback's intent is verified asynchronously"},
        **problem_responses(400, 413, 415, 422),
    },
    summary="The WebSub hub: subscribe or unsubscribe a callback to one of our feeds",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                FORM_TYPE: {
                    "schema": {
                        "type": "object",
                        "required": ["hub.mode", "hub.topic", "hub.callback"],
                        "properties": {
                            "hub.mode": {"type": "string", "enum": ["subscribe", "unsubscribe"]},
                            "hub.topic": {"type": "string"},
                            "hub.callback": {"type": "string"},
                            "hub.lease_seconds": {"type": "integer"},
                            "hub.secret": {"type": "string", "maxLength": 199},
                        },
                    }
                }
            },
        }
    },
)
async def hub(request: Request) -> JSONResponse:
    """Reads the (small, bounded) form on the event loop, then does everything that blocks (the
    callback's DNS lookup by the SSRF guard, Redis) in the thread pool: a callback that resolves
    slowly holds up its own request, never the API."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise UnsupportedMediaType(f"Send the hub request as {FORM_TYPE}.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise PayloadTooLarge(f"A hub request is at most {MAX_FORM_BYTES} bytes.")
    return await run_in_threadpool(accept_hub_request, body)


def accept_hub_request(body: bytes) -> JSONResponse:
    """Check a hub request, keep its intent and hand it to a worker for verification (sync)."""
    try:
        form = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise BadRequest("The form is not UTF-8.") from None
    asked = parse_hub_request(form)
    settings = get_settings()
    check_client_url(asked.callback, {"parameter": "hub.callback"}, settings)
    client = get_redis()
    now = datetime.now(UTC)
    found = topic_feed(asked.topic, settings.base_url)
    denied = None
    if found is None:
        denied = f"{asked.topic} is not a feed of this hub; topics are {settings.base_url}/feeds/…"
    elif feedstore.load_feed(client, *found) is None:
        denied = f"{asked.topic} names no feed this service publishes"
    feed, fmt = found if found is not None else (None, None)
    default, low, high = settings.websub_leases
    intent = Intent(
        id=random_id("wsi"),
        subscription_id=subscription_id_for(feed or "", fmt or "", asked.callback),
        mode=asked.mode,
        topic=asked.topic,
        feed=feed,
        fmt=fmt,
        callback=asked.callback,
        secret=asked.secret,
        lease_seconds=grant_lease(asked.lease_seconds, default, low, high)
        if asked.mode == "subscribe"
        else None,
        requested_at=now,
        denied_reason=denied,
    )
    websub_store.save_intent(client, intent)
    send(names.TASK_PUBLISH_WEBSUB_VERIFY, intent.id)
    return JSONResponse(
        {"status": "accepted", "mode": asked.mode, "topic": asked.topic, "intent": intent.id},
        status_code=202,
    )


@router.get(
    "/v1/websub/subscriptions",
    response_model=WebSubSubscriptionList,
    responses=problem_responses(401),
    summary="Active WebSub subscriptions (secrets are never shown)",
)
def list_websub_subscriptions(
    _caller: Caller, topic: Annotated[str | None, Query()] = None
) -> WebSubSubscriptionList:
    now = datetime.now(UTC)
    client = get_redis()
    settings = get_settings()
    if topic is not None:
        found = topic_feed(topic, settings.base_url)
        subs = websub_store.active(client, *found, now) if found else []
    else:
        subs = websub_store.list_all(client, now)
    return WebSubSubscriptionList(items=[WebSubSubscriptionOut.of(sub) for sub in subs])


@router.get(
    "/v1/websub/intents/{intent_id}",
    response_model=Intent,
    response_model_exclude={"secret"},
    responses=problem_responses(401, 404),
    summary="What became of a subscribe or unsubscribe request (kept for a week)",
)
def get_intent(intent_id: str, _caller: Caller) -> Intent:
    intent = websub_store.get_intent(get_redis(), intent_id)
    if intent is None:
        raise NotFound(f"No WebSub request {intent_id!r}.", resource=intent_id)
    return intent
