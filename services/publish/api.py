"""Publish's HTTP router: webhook subscriptions and their deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import redis
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.publish import follows, store
from services.publish.attempts import attempt_lease
from services.publish.replay import dead_letters, replay, replay_many
from services.publish.signing import new_secret
from services.publish.targets import check_client_url
from shared import names
from shared.auth import Caller
from shared.celery_app import send
from shared.errors import Conflict, InvalidInput, NotFound
from shared.ids import random_id
from shared.models import (
    EVENT_TYPES,
    Delivery,
    EventType,
    RetiredSecret,
    Subscription,
    SubscriptionFilter,
)
from shared.problems import problem_responses
from shared.redis_conn import get_redis
from shared.settings import get_settings

router = APIRouter(tags=["subscriptions"])

_STORY_EVENTS: list[EventType] = [e for e in EVENT_TYPES if e.startswith("story.")]


def _storable_filter(value: SubscriptionFilter | None) -> SubscriptionFilter | None:
    """Refuse a filter we could not store: JSON allows lone surrogates (``"\\ud800"``), UTF-8
    does not."""
    for values in value.model_dump().values() if value is not None else ():
        for name in values:
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(f"{name!r} is not valid Unicode text") from None
    return value


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048, examples=["https://partner.example/hooks"])
    events: list[EventType] = Field(default_factory=lambda: list(_STORY_EVENTS), min_length=1)
    filter: SubscriptionFilter = Field(default_factory=SubscriptionFilter)
    description: str | None = Field(default=None, max_length=500)

    _filter = field_validator("filter")(_storable_filter)


class SubscriptionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=1, max_length=2048)
    events: list[EventType] | None = Field(default=None, min_length=1)
    filter: SubscriptionFilter | None = None
    description: str | None = Field(default=None, max_length=500)
    disabled: bool | None = None

    _filter = field_validator("filter")(_storable_filter)


class SubscriptionOut(BaseModel):
    """A subscription as listed: never its secret."""

    id: str
    url: str
    events: list[EventType]
    filter: SubscriptionFilter
    description: str | None
    created_at: datetime
    disabled: bool
    disabled_reason: str | None
    failing_since: datetime | None = Field(
        default=None, description="When the current run of failed attempts began, if any."
    )
    previous_secret_expires_at: datetime | None = Field(
        default=None, description="Until when a rotated-out secret still signs, if one does."
    )

    @classmethod
    def of(cls, sub: Subscription, client: redis.Redis | None = None) -> SubscriptionOut:
        now = datetime.now(UTC)
        grace = [old.expires_at for old in sub.previous_secrets if old.expires_at > now]
        return cls.model_validate(
            {
                **sub.model_dump(exclude={"secret", "previous_secrets"}),
                "failing_since": store.failing_since(client or get_redis(), sub.id),
                "previous_secret_expires_at": max(grace, default=None),
            }
        )


class SubscriptionCreated(SubscriptionOut):
    """Returned once, on creation: the only time the secret is shown."""

    secret: str


class SubscriptionList(BaseModel):
    items: list[SubscriptionOut]


class DeliveryList(BaseModel):
    items: list[Delivery]


class DeadLetterList(BaseModel):
    total: int
    items: list[Delivery]


class ReplayedDeadLetters(BaseModel):
    replayed: list[str] = Field(description="Deliveries made pending again (same webhook-id).")
    refused: dict[str, str] = Field(
        default_factory=dict, description="Dead letters that could not be replayed, and why."
    )


class RotatedSecret(BaseModel):
    id: str
    secret: str = Field(description="The new whsec_ secret, shown only here.")
    previous_secret_expires_at: datetime = Field(
        description="Until then the old secret signs too (two signatures in the header)."
    )


def _check_target(url: str) -> None:
    check_client_url(url, {"field": "url"})


def _load(sub_id: str) -> Subscription:
    sub = store.get_subscription(get_redis(), sub_id)
    if sub is None:
        raise NotFound(f"No subscription {sub_id!r}.", resource=sub_id)
    return sub


@router.post(
    "/v1/subscriptions",
    status_code=201,
    response_model=SubscriptionCreated,
    responses=problem_responses(401, 422),
    summary="Register a webhook; the answer holds its whsec_ secret",
)
def create_subscription(body: SubscriptionIn, _caller: Caller) -> SubscriptionCreated:
    _check_target(body.url)
    sub = Subscription(
        id=random_id("sub"),
        url=body.url,
        events=list(dict.fromkeys(body.events)),
        filter=body.filter,
        description=body.description,
        secret=new_secret(),
        created_at=datetime.now(UTC),
    )
    client = get_redis()
    store.save_subscription(client, sub)
    follows.refresh(client, sub.created_at)
    return SubscriptionCreated(**SubscriptionOut.of(sub).model_dump(), secret=sub.secret)


@router.get(
    "/v1/subscriptions",
    response_model=SubscriptionList,
    responses=problem_responses(401),
    summary="Every subscription (secrets are never listed)",
)
def list_subscriptions(_caller: Caller) -> SubscriptionList:
    client = get_redis()
    return SubscriptionList(
        items=[SubscriptionOut.of(sub, client) for sub in store.list_subscriptions(client)]
    )


@router.get(
    "/v1/subscriptions/{sub_id}",
    response_model=SubscriptionOut,
    responses=problem_responses(401, 404),
)
def get_subscription(sub_id: str, _caller: Caller) -> SubscriptionOut:
    return SubscriptionOut.of(_load(sub_id))


@router.patch(
    "/v1/subscriptions/{sub_id}",
    response_model=SubscriptionOut,
    responses=problem_responses(401, 404, 422),
)
def patch_subscription(sub_id: str, body: SubscriptionPatch, _caller: Caller) -> SubscriptionOut:
    _load(sub_id)
    changes = body.model_dump(exclude_unset=True)
    for required in ("url", "events", "disabled"):
        if required in changes and changes[required] is None:
            raise InvalidInput(f"`{required}` cannot be null.", resource=sub_id)
    if "url" in changes:
        _check_target(changes["url"])
    if "filter" in changes:
        changes["filter"] = body.filter or SubscriptionFilter()
    if "disabled" in changes:
        changes["disabled_reason"] = "disabled through the API" if changes["disabled"] else None
    client = get_redis()
    updated = store.update_subscription(
        client,
        sub_id,
        lambda current: Subscription.model_validate({**current.model_dump(), **changes}),
    )
    if updated is None:
        raise NotFound(f"No subscription {sub_id!r}.", resource=sub_id)
    if changes.get("disabled") is False:
        store.note_success(client, sub_id)  # a fresh start: past failures no longer count
    follows.refresh(client, datetime.now(UTC))
    return SubscriptionOut.of(updated, client)


@router.post(
    "/v1/subscriptions/{sub_id}/rotate-secret",
    response_model=RotatedSecret,
    responses=problem_responses(401, 404),
    summary="A new secret; the old one keeps signing for a grace period (24 h by default)",
)
def rotate_secret(sub_id: str, _caller: Caller) -> RotatedSecret:
    now = datetime.now(UTC)
    grace = timedelta(seconds=get_settings().webhook_secret_grace_seconds)
    fresh = new_secret()

    def rotate(sub: Subscription) -> Subscription:
        kept = [old for old in sub.previous_secrets if old.expires_at > now]
        retired = RetiredSecret(secret=sub.secret, expires_at=now + grace)
        return sub.model_copy(update={"secret": fresh, "previous_secrets": [retired, *kept]})

    if store.update_subscription(get_redis(), sub_id, rotate) is None:
        raise NotFound(f"No subscription {sub_id!r}.", resource=sub_id)
    return RotatedSecret(id=sub_id, secret=fresh, previous_secret_expires_at=now + grace)


@router.delete(
    "/v1/subscriptions/{sub_id}",
    status_code=204,
    responses=problem_responses(401, 404),
)
def delete_subscription(sub_id: str, _caller: Caller) -> Response:
    client = get_redis()
    if not store.delete_subscription(client, sub_id):
        raise NotFound(f"No subscription {sub_id!r}.", resource=sub_id)
    follows.refresh(client, datetime.now(UTC))
    return Response(status_code=204)


@router.get(
    "/v1/subscriptions/{sub_id}/deliveries",
    response_model=DeliveryList,
    responses=problem_responses(401, 404),
    summary="Every delivery of a subscription, newest first, with every attempt",
)
def list_deliveries(
    sub_id: str,
    _caller: Caller,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DeliveryList:
    _load(sub_id)
    return DeliveryList(items=store.list_deliveries(get_redis(), sub_id, limit, offset))


@router.get(
    "/v1/deliveries",
    response_model=DeadLetterList,
    responses=problem_responses(401),
    summary="Dead letters: deliveries that will not be tried again, newest first",
)
def list_dead_letters(
    _caller: Caller,
    state: Annotated[Literal["dead"], Query(description="Only `dead` is listed here.")] = "dead",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DeadLetterList:
    total, items = store.list_dead(get_redis(), limit, offset)
    return DeadLetterList(total=total, items=items)


@router.get(
    "/v1/deliveries/{delivery_id}",
    response_model=Delivery,
    responses=problem_responses(401, 404),
    summary="One delivery with every attempt",
)
def get_delivery(delivery_id: str, _caller: Caller) -> Delivery:
    delivery = store.get_delivery(get_redis(), delivery_id)
    if delivery is None:
        raise NotFound(f"No delivery {delivery_id!r}.", resource=delivery_id)
    return delivery


@router.post(
    "/v1/subscriptions/{sub_id}/replay-dead",
    status_code=202,
    response_model=ReplayedDeadLetters,
    responses=problem_responses(401, 404, 409),
    summary="Send every dead letter of a subscription again, newest first (same webhook-ids)",
)
def replay_dead_letters(
    sub_id: str,
    _caller: Caller,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> ReplayedDeadLetters:
    sub = _load(sub_id)
    if sub.disabled:
        raise Conflict(
            f"Subscription {sub_id} is disabled ({sub.disabled_reason}); "
            'enable it first with PATCH {"disabled": false}.',
            resource=sub_id,
        )
    settings = get_settings()
    client = get_redis()
    ids = dead_letters(client, limit, subscription_id=sub_id)
    done = replay_many(client, ids, datetime.now(UTC), attempt_lease(settings), settings)
    for again in done.replayed:
        send(names.TASK_PUBLISH_DELIVER, again.id)
    return ReplayedDeadLetters(replayed=[d.id for d in done.replayed], refused=done.refused)


@router.post(
    "/v1/deliveries/{delivery_id}/replay",
    status_code=202,
    response_model=Delivery,
    responses=problem_responses(401, 404, 409),
    summary="Send a dead-lettered, failed or past delivery again (same webhook-id)",
)
def replay_delivery(delivery_id: str, _caller: Caller) -> Delivery:
    settings = get_settings()
    again = replay(get_redis(), delivery_id, datetime.now(UTC), attempt_lease(settings), settings)
    send(names.TASK_PUBLISH_DELIVER, again.id)
    return again
