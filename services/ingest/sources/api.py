"""Sources over HTTP: ``/v1/sources`` (bearer token) and the WebSub callback our subscriptions
name (``/websub/callback/{id}``: public, as a hub must reach it; guarded by the pending request
and the signature)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from services.ingest.sources import manage, store, subscriber
from services.ingest.sources.fetch import max_bytes
from services.ingest.sources.model import SourceIn, SourceList, SourceOut, SourcePatch, TakenList
from shared.auth import Caller
from shared.errors import NotFound, PayloadTooLarge
from shared.problems import problem, problem_responses
from shared.redis_conn import get_redis
from shared.settings import get_settings

router = APIRouter(tags=["sources"])


@router.post(
    "/v1/sources",
    status_code=201,
    response_model=SourceOut,
    responses=problem_responses(401, 422),
    summary="Add an upstream feed (url) or a drop folder (path); polled at once, then on schedule",
)
def create_source(body: SourceIn, _caller: Caller) -> SourceOut:
    return manage.create(get_redis(), body, get_settings())


@router.get(
    "/v1/sources",
    response_model=SourceList,
    responses=problem_responses(401),
    summary="Every source, with its health",
)
def list_sources(_caller: Caller) -> SourceList:
    return SourceList(items=manage.show_all(get_redis(), get_settings()))


@router.get(
    "/v1/sources/{source_id}",
    response_model=SourceOut,
    responses=problem_responses(401, 404),
    summary="One source: configuration, health (last poll, success, error, items taken), WebSub",
)
def get_source(source_id: str, _caller: Caller) -> SourceOut:
    return manage.show(get_redis(), source_id, get_settings())


@router.patch(
    "/v1/sources/{source_id}",
    response_model=SourceOut,
    responses=problem_responses(401, 404, 422),
    summary="Change a source (name, url/path, agency, interval_seconds, format, enabled, …)",
)
def patch_source(source_id: str, patch: SourcePatch, _caller: Caller) -> SourceOut:
    return manage.update(get_redis(), source_id, patch, get_settings())


@router.delete(
    "/v1/sources/{source_id}",
    status_code=204,
    responses=problem_responses(401, 404),
    summary="Remove a source (the stories it brought stay)",
)
def delete_source(source_id: str, _caller: Caller) -> Response:
    manage.remove(get_redis(), source_id)
    return Response(status_code=204)


@router.post(
    "/v1/sources/{source_id}/poll",
    status_code=202,
    response_model=SourceOut,
    responses=problem_responses(401, 404, 409),
    summary="Poll now: the source goes first in line for the next free scheduler",
)
def poll_source(source_id: str, _caller: Caller) -> SourceOut:
    return manage.poll_soon(get_redis(), source_id, get_settings())


@router.get(
    "/v1/sources/{source_id}/items",
    response_model=TakenList,
    responses=problem_responses(401, 404),
    summary="The raw items a source produced, newest first, with what became of them",
)
def source_items(
    source_id: str,
    _caller: Caller,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TakenList:
    return manage.taken(get_redis(), source_id, limit, offset)


# --- the WebSub subscriber's callback -------------------------------------------------------------


@router.get(
    "/websub/callback/{source_id}",
    response_class=PlainTextResponse,
    responses={
        200: {"description": "hub.challenge, echoed", "content": {"text/plain": {}}},
        **problem_responses(404),
    },
    summary="WebSub verification of intent: the challenge is echoed only for our pending request",
)
def websub_verify(source_id: str, request: Request) -> PlainTextResponse:
    params = {key: request.query_params[key] for key in request.query_params}
    verdict = subscriber.verification(get_redis(), source_id, params, store.redis_now(get_redis()))
    if verdict.status != 200:
        raise NotFound(f"No pending WebSub request here: {verdict.body}.", resource=source_id)
    return PlainTextResponse(verdict.body, status_code=200)


@router.post(
    "/websub/callback/{source_id}",
    status_code=202,
    responses={202: {"description": "Taken"}, **problem_responses(403, 410, 413)},
    summary="WebSub content distribution: signed with our secret, or refused",
)
async def websub_push(source_id: str, request: Request) -> JSONResponse:
    client = get_redis()
    source = await run_in_threadpool(store.get, client, source_id)
    limit = (
        max_bytes(source, get_settings()) if source is not None else get_settings().source_max_bytes
    )
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge(f"A push to this source is at most {limit} bytes.")
    now = await run_in_threadpool(store.redis_now, client)
    result = await run_in_threadpool(
        subscriber.push,
        client,
        source_id,
        request.headers.get("x-hub-signature"),
        request.headers.get("content-type", ""),
        bytes(body),
        now,
    )
    if result.status == 202:
        return JSONResponse(
            {
                "status": "accepted",
                "taken": result.taken,
                "items": list(result.wire_ids),
                "detail": result.detail,
            },
            status_code=202,
        )
    if result.status == 403:
        return problem(
            403,
            "Signature refused",
            f"The push was not taken: {result.detail}.",
            type_slug="signature-refused",
            instance=request.url.path,
        )
    return problem(
        410,
        "Gone",
        result.detail,
        type_slug="gone",
        instance=request.url.path,
    )
