"""Ingest's HTTP router: wire copy in, stories and the quarantine out."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from datetime import UTC, datetime
from typing import Annotated, Literal

import redis
from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from services.ingest import store
from services.ingest.formats import MEDIA_TYPES, format_for_media_type
from services.ingest.precheck import precheck
from shared import stories
from shared.auth import IngestCaller, MaybeAdmin
from shared.errors import (
    BadRequest,
    Gone,
    NotFound,
    ParseError,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
)
from shared.ids import random_id
from shared.models import Story, WireItem, WireStatus
from shared.problems import problem_responses
from shared.redis_conn import get_redis
from shared.settings import get_settings
from shared.slugs import slug

router = APIRouter(tags=["ingest"])
log = logging.getLogger(__name__)
#: copy up to this size is pre-checked on the event loop (well under a millisecond); larger
#: copy in a worker thread
INLINE_CHECK_BYTES = 32 * 1024


class WireAccepted(BaseModel):
    id: str
    status: WireStatus


class QuarantineEntry(BaseModel):
    id: str
    received_at: datetime
    content_type: str
    size: int
    error: dict[str, object] | None


class QuarantineList(BaseModel):
    total: int
    items: list[QuarantineEntry]


class StoryList(BaseModel):
    items: list[Story]


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The body is {declared} bytes; the limit is {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge(f"The body is over the limit of {limit} bytes.")
    return bytes(body)


@router.post(
    "/v1/wire",
    status_code=202,
    response_model=WireAccepted,
    responses=problem_responses(400, 401, 413, 415, 422, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in sorted(MEDIA_TYPES)
            },
        }
    },
    summary="Send wire copy (stored durably before the answer; parsed asynchronously)",
)
async def post_wire(
    request: Request,
    response: Response,
    caller: IngestCaller,
    content_type: Annotated[str, Header()] = "application/octet-stream",
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> WireAccepted:
    format_for_media_type(content_type)  # 415 before reading a byte of an unwanted type
    body = await _read_body(request, get_settings().max_body_bytes)
    if not body.strip():
        raise BadRequest("The body is empty: send the wire copy as the request body.")
    client = get_redis()
    wire_id = random_id("wire")
    if len(body) <= INLINE_CHECK_BYTES:  # cheaper than the hop to a thread and back
        unreadable = _checked(body, content_type)
    else:  # a big body's parse must not hold up the event loop
        unreadable = await run_in_threadpool(_checked, body, content_type)
    if unreadable is not None:
        # 422 at once, but the copy is kept: stored and quarantined with the same error
        _quarantine_at_once(client, wire_id, content_type, body, idempotency_key, unreadable)
        raise unreadable
    if idempotency_key:
        earlier = store.claim_idempotency_key(client, caller, idempotency_key, wire_id)
        if earlier is not None:
            item = store.get_wire(client, earlier)
            response.headers["Location"] = f"/v1/wire/{earlier}"
            return WireAccepted(id=earlier, status=item.status if item else "accepted")
    item = WireItem(
        id=wire_id,
        received_at=datetime.now(UTC),
        content_type=content_type,
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        idempotency_key=idempotency_key,
    )
    try:
        store.save_wire(client, item, body, send=True)  # stored, in the outbox, and sent
    except Exception as exc:
        if idempotency_key:
            with contextlib.suppress(redis.RedisError):
                store.release_idempotency_key(client, caller, idempotency_key)
        if isinstance(exc, redis.RedisError):
            raise Unavailable(
                "The store is not reachable right now; nothing was accepted. Retry shortly."
            ) from exc
        raise
    response.headers["Location"] = f"/v1/wire/{wire_id}"
    return WireAccepted(id=wire_id, status="accepted")


def _checked(body: bytes, content_type: str) -> ParseError | None:
    """The pre-check, which must never lose the copy: if it fails in a way we did not foresee
    (a bug), the copy is refused and quarantined like unreadable copy, with what went wrong."""
    try:
        return precheck(body, content_type)
    except Exception as exc:  # any failure is turned into a kept, quarantined copy
        log.exception("the pre-check failed on %d bytes of %s", len(body), content_type)
        return ParseError(
            f"the copy could not be read ({type(exc).__name__}: {exc})", format="unknown"
        )


def _quarantine_at_once(
    client: redis.Redis,
    wire_id: str,
    content_type: str,
    body: bytes,
    idempotency_key: str | None,
    error: ParseError,
) -> None:
    now = datetime.now(UTC)
    item = WireItem(
        id=wire_id,
        received_at=now,
        content_type=content_type,
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        idempotency_key=idempotency_key,
    )
    store.save_wire(client, item, body, pending=False)
    store.quarantine(client, item, error, now)
    error.resource = wire_id


@router.get(
    "/v1/wire/{wire_id}",
    response_model=WireItem,
    responses=problem_responses(404),
    summary="What became of one accepted item (status, stories, error)",
)
def get_wire(wire_id: str) -> WireItem:
    item = store.get_wire(get_redis(), wire_id)
    if item is None:
        raise NotFound(f"No wire item {wire_id!r}.", resource=wire_id)
    return item


@router.get(
    "/v1/quarantine", response_model=QuarantineList, summary="Copy that could not be parsed"
)
def get_quarantine(
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> QuarantineList:
    client = get_redis()
    items = store.list_quarantine(client, limit, offset)
    return QuarantineList(
        total=store.quarantine_size(client),
        items=[
            QuarantineEntry(
                id=i.id,
                received_at=i.received_at,
                content_type=i.content_type,
                size=i.size,
                error=i.error,
            )
            for i in items
        ],
    )


def _matches(
    story: Story, section: str | None, agency: str | None, contributor: str | None
) -> bool:
    if section and not (story.section and slug(story.section) == slug(section)):
        return False
    if agency and not (story.agency and slug(story.agency) == slug(agency)):
        return False
    return not contributor or any(slug(c.name) == slug(contributor) for c in story.contributors)


def _public_view(story: Story) -> Story:
    """What a caller without a token may read of a story: usable stories only. A withdrawn
    (killed) one is ``410 Gone`` with no content; a withheld (embargoed) one is as if it did not
    exist, ``404``, so that not even its headline or existence leaks before its release."""
    if story.status == "withdrawn":
        raise Gone(f"Story {story.id!r} was withdrawn by its agency.", resource=story.id)
    if story.status != "usable":
        raise NotFound(f"No story {story.id!r}.", resource=story.id)
    return story


@router.get(
    "/v1/stories",
    response_model=StoryList,
    response_model_exclude_none=True,
    responses=problem_responses(401),
    summary="Recent stories, newest first",
    description="Without a token only usable stories are listed; `status` other than `usable` "
    "(withheld, withdrawn, any) needs a bearer token.",
)
def list_stories(
    caller: MaybeAdmin,
    section: str | None = None,
    agency: str | None = None,
    contributor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    status: Literal["usable", "withdrawn", "withheld", "any"] = "usable",
) -> StoryList:
    if status != "usable" and caller is None:
        raise Unauthorized(
            f"Listing {status} stories needs an admin token (`Authorization: Bearer <token>` "
            "with a token of SYNDICATE_API_TOKENS); "
            "without one only usable stories are shown."
        )
    client = get_redis()
    found: list[Story] = []
    offset, batch, scanned_limit = 0, 200, 5000
    while len(found) < limit and offset < scanned_limit:
        ids = stories.recent_ids(client, batch, offset)
        if not ids:
            break
        for story in stories.get_many(client, ids):
            if (status == "any" or story.status == status) and _matches(
                story, section, agency, contributor
            ):
                found.append(story)
        offset += batch
    return StoryList(items=found[:limit])


@router.get(
    "/v1/stories/{story_id}",
    response_model=Story,
    response_model_exclude_none=True,
    responses=problem_responses(401, 404, 410),
    summary="One story, latest version",
    description="Without a token: a withdrawn story is `410`, a withheld one `404`.",
)
def get_story(story_id: str, caller: MaybeAdmin) -> Story:
    story = stories.get_story(get_redis(), story_id)
    if story is None:
        raise NotFound(f"No story {story_id!r}.", resource=story_id)
    return story if caller is not None else _public_view(story)


@router.get(
    "/v1/stories/{story_id}/versions",
    response_model=StoryList,
    response_model_exclude_none=True,
    responses=problem_responses(401, 404, 410),
    summary="Every version of a story, oldest first",
    description="Without a token: only usable versions, and a withdrawn story is `410`, a "
    "withheld one `404`.",
)
def get_story_versions(story_id: str, caller: MaybeAdmin) -> StoryList:
    versions = stories.list_versions(get_redis(), story_id)
    if not versions:
        raise NotFound(f"No story {story_id!r}.", resource=story_id)
    if caller is None:
        _public_view(versions[-1])
        versions = [v for v in versions if v.status == "usable"]
    return StoryList(items=versions)
