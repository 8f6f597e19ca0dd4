"""Errors become RFC 9457 ``application/problem+json`` here, at the HTTP edge, and nowhere else."""

from __future__ import annotations

import logging
import re
from typing import Any

import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import SyndicateError, Unauthorized, Unavailable

log = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "https://syndicate.example/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
#: what a 503 asks the client to wait (seconds)
RETRY_AFTER_SECONDS = "5"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    type_slug: str,
    instance: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + type_slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _syndicate_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SyndicateError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    if isinstance(exc, Unavailable):
        headers = {"Retry-After": RETRY_AFTER_SECONDS}
    extra = dict(exc.extra)
    if exc.resource:
        extra.setdefault("resource", exc.resource)
    if exc.status >= 500:
        log.error("%s on %s: %s", type(exc).__name__, request.url.path, exc.detail)
    return problem(
        exc.status,
        exc.title,
        exc.detail,
        type_slug=exc.type_slug,
        instance=request.url.path,
        extra=extra,
        headers=headers,
    )


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": [str(part) for part in err.get("loc", ())], "msg": str(err.get("msg", ""))}
        for err in exc.errors()
    ]
    where = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
    return problem(
        422,
        "Invalid request",
        f"The request does not match the API: {where}",
        type_slug="validation",
        instance=request.url.path,
        extra={"errors": errors},
    )


def allowed_methods(spec: dict[str, Any], path: str) -> list[str]:
    """Every method the description lists for ``path`` (``Allow`` of a 405)."""
    found: set[str] = set()
    for template, operations in spec.get("paths", {}).items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if template.endswith("{path}"):
            pattern = pattern.removesuffix("[^/]+") + ".+"
        if re.fullmatch(pattern, path):
            found.update(method.upper() for method in operations)
    return sorted(found)


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and isinstance(request.app, FastAPI):
        # the route that refused knows only its own methods; the path may have others
        methods = allowed_methods(request.app.openapi(), request.url.path)
        if methods:
            headers["Allow"] = ", ".join(methods)
    return problem(
        exc.status_code,
        str(exc.detail) if exc.status_code != 404 else "Not found",
        str(exc.detail),
        type_slug=f"http-{exc.status_code}",
        instance=request.url.path,
        headers=headers,
    )


def _redis_down(request: Request, exc: Exception) -> JSONResponse:
    log.error("Redis unavailable on %s: %s", request.url.path, exc)
    return problem(
        503,
        "Service unavailable",
        # said of any route: a write may have been cut short part-way; a route that knows
        # better (POST /v1/wire: "nothing was accepted") raises Unavailable itself
        "The store is not reachable right now; the request may not have been carried out "
        "in full. Retry shortly.",
        type_slug="unavailable",
        instance=request.url.path,
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s", request.url.path, exc_info=exc)
    return problem(
        500,
        "Internal error",
        "Something went wrong on our side; the error has been logged.",
        type_slug="internal",
        instance=request.url.path,
    )


def install(app: FastAPI) -> None:
    """Map every error to problem+json on ``app``."""
    app.add_exception_handler(SyndicateError, _syndicate_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(redis.RedisError, _redis_down)
    app.add_exception_handler(Exception, _unexpected)


#: For OpenAPI: the problem body every error response carries.
PROBLEM_SCHEMA: dict[str, Any] = {
    "content": {
        PROBLEM_MEDIA_TYPE: {
            "schema": {
                "type": "object",
                "required": ["type", "title", "status", "detail"],
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "instance": {"type": "string"},
                },
                "additionalProperties": True,
            }
        }
    }
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each listed status documented as a problem body."""
    return {code: {"description": "Problem", **PROBLEM_SCHEMA} for code in codes}
