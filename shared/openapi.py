"""The OpenAPI description says every answer a route can give, with the body it carries.

FastAPI documents what a route declares; the edge adds answers no route declares: the rate
limiter's ``429``, the body limit's ``413``, ``401``/``403`` wherever a token is needed, ``503``
when Redis is down, and request validation's ``422`` as the problem+json it really is (FastAPI
would describe its own ``HTTPValidationError`` shape). ``complete`` adds them to the generated
description (pure, on the dict); ``install`` makes the app serve the completed one. Schemathesis
holds the API to this description (``tests/integration/test_security_fuzz.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from shared.problems import PROBLEM_SCHEMA
from shared.ratelimit import EXEMPT_PATHS

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
#: routes that answer without Redis
_NO_STORE = frozenset({"/", "/healthz"})

_DESCRIPTIONS = {
    400: "The body cannot be read (malformed JSON, bytes that are not UTF-8, too deep)",
    401: "Missing or unknown bearer token (`WWW-Authenticate: Bearer`)",
    403: "The token's scope does not cover this route (an `ingest` token on an `admin` route)",
    413: "The body is over the limit (SYNDICATE_MAX_BODY_BYTES or SYNDICATE_MAX_REQUEST_BYTES)",
    422: "The request does not match the API (`errors` says where), or its content is refused",
    429: "Over this client's rate limit; `Retry-After` says when to try again",
    503: "The store is unreachable; `Retry-After` says when to try again",
}
_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}},
}


def _problem(code: int) -> dict[str, Any]:
    response: dict[str, Any] = {"description": _DESCRIPTIONS[code], **PROBLEM_SCHEMA}
    if code in (429, 503):
        response["headers"] = _RETRY_AFTER
    return response


def _is_fastapi_validation(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return str(schema.get("$ref", "")).endswith("/HTTPValidationError")


def complete(spec: dict[str, Any]) -> dict[str, Any]:
    """Add the edge's answers to every operation of ``spec`` (in place; also returned)."""
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            responses: dict[str, Any] = operation.setdefault("responses", {})
            if "422" in responses and _is_fastapi_validation(responses["422"]):
                responses["422"] = _problem(422)
            wanted: list[int] = []
            if operation.get("parameters") or operation.get("requestBody"):
                wanted.append(422)
            if operation.get("requestBody"):
                wanted.extend((400, 413))
            requirements = operation.get("security") or []
            if requirements:
                wanted.append(401)
                scopes = {
                    scope for req in requirements for scopes in req.values() for scope in scopes
                }
                if "admin" in scopes:
                    wanted.append(403)
            if path not in EXEMPT_PATHS:
                wanted.append(429)
            if path not in _NO_STORE:
                wanted.append(503)
            for code in wanted:
                responses.setdefault(str(code), _problem(code))
            for status in ("429", "503"):
                if status in responses:
                    responses[status].setdefault("headers", _RETRY_AFTER)
    schemas = spec.get("components", {}).get("schemas", {})
    if "HTTPValidationError" in schemas and "HTTPValidationError" not in str(spec.get("paths")):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return spec


def install(app: FastAPI) -> None:
    """Serve the completed description at ``/openapi.json`` (built once, on first use)."""
    generate: Callable[[], dict[str, Any]] = app.openapi
    done = False

    def openapi() -> dict[str, Any]:
        nonlocal done
        spec = generate()
        if not done:
            complete(spec)
            done = True
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
