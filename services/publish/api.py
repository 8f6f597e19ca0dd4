"""Publish's HTTP router: webhook subscriptions and their deliveries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from services.publish import store
from services.publish.signing import new_secret
from services.publish.targets import webhook_guard
from shared.auth import Caller
from shared.errors import InvalidInput, NotFound
from shared.ids import random_id
from shared.models import EVENT_TYPES, Delivery, EventType, Subscription, SubscriptionFilter
from shared.netguard import check_url
from shared.problems import problem_responses
from shared.redis_conn import get_redis

router = APIRouter(tags=["subscriptions"])

_STORY_EVENTS: list[EventType] = [e for e in EVENT_TYPES if e.startswith("story.")]


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048, examples=["https://partner.example/hooks"])
    events: list[EventType] = Field(default_factory=lambda: list(_STORY_EVENTS), min_length=1)
    filter: SubscriptionFilter = Field(default_factory=SubscriptionFilter)
    description: str | None = Field(default=None, max_length=500)


class SubscriptionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=1, max_length=2048)
    events: list[EventType] | None = Field(default=None, min_length=1)
    filter: SubscriptionFilter | None = None
    description: str | None = Field(default=None, max_length=500)
    disabled: bool | None = None


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

    @classmethod
    def of(cls, sub: Subscription) -> SubscriptionOut:
        return cls.model_validate(sub.model_dump(exclude={"secret"}))


class SubscriptionCreated(SubscriptionOut):
    """Returned once, on creation: the only time the secret is shown."""

    secret: str


class SubscriptionList(BaseModel):
    items: list[SubscriptionOut]


class DeliveryList(BaseModel):
    items: list[Delivery]


def _check_target(url: str) -> None:
    guard = webhook_guard()
    check_url(url, allowed=guard.allowed, allow_http=guard.allow_http)


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
    store.save_subscription(get_redis(), sub)
    return SubscriptionCreated(**SubscriptionOut.of(sub).model_dump(), secret=sub.secret)


@router.get(
    "/v1/subscriptions",
    response_model=SubscriptionList,
    responses=problem_responses(401),
    summary="Every subscription (secrets are never listed)",
)
def list_subscriptions(_caller: Caller) -> SubscriptionList:
    return SubscriptionList(
        items=[SubscriptionOut.of(sub) for sub in store.list_subscriptions(get_redis())]
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
    sub = _load(sub_id)
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
    updated = Subscription.model_validate({**sub.model_dump(), **changes})
    store.save_subscription(get_redis(), updated)
    return SubscriptionOut.of(updated)


@router.delete(
    "/v1/subscriptions/{sub_id}",
    status_code=204,
    responses=problem_responses(401, 404),
)
def delete_subscription(sub_id: str, _caller: Caller) -> Response:
    if not store.delete_subscription(get_redis(), sub_id):
        raise NotFound(f"No subscription {sub_id!r}.", resource=sub_id)
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
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DeliveryList:
    _load(sub_id)
    return DeliveryList(items=store.list_deliveries(get_redis(), sub_id, limit, offset))
