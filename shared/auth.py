"""Bearer tokens and their scopes for write endpoints (feeds stay public).

Two scopes: ``ingest`` tokens (``SYNDICATE_INGEST_TOKENS``) may post wire copy and nothing else;
``admin`` tokens (``SYNDICATE_API_TOKENS``) may do everything (post copy, subscriptions,
deliveries and replays, WebSub listings, sources, the quarantine). A missing or unknown token is
``401``; a known token whose scope does not cover the route is ``403``. Tokens are compared in
constant time against every configured token, whichever matches.

Story reads are public but show more to an ``admin`` token (withheld and withdrawn stories):
``MaybeAdmin`` is the optional check for them.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Literal

from fastapi import Depends, Header, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.errors import Forbidden, Unauthorized
from shared.settings import get_settings

Scope = Literal["ingest", "admin"]
#: what each scope may do: an admin token may do everything an ingest token may
GRANTS: dict[Scope, frozenset[Scope]] = {
    "ingest": frozenset({"ingest"}),
    "admin": frozenset({"ingest", "admin"}),
}

_bearer = HTTPBearer(
    auto_error=False,
    description="A token from SYNDICATE_API_TOKENS (scope `admin`: every write and operator "
    "route) or SYNDICATE_INGEST_TOKENS (scope `ingest`: POST /v1/wire only).",
)


def token_matches(given: str, allowed: list[str]) -> bool:
    """Constant-time membership: every allowed token is compared, whatever matches first."""
    given_bytes = given.encode("utf-8")
    found = False
    for token in allowed:
        found |= hmac.compare_digest(given_bytes, token.encode("utf-8"))
    return found


def scope_of(given: str, admin: list[str], ingest: list[str]) -> Scope | None:
    """The scope of a presented token (admin wins when listed in both), or ``None`` if unknown.

    Both lists are always compared in full, so the time taken says nothing about the token."""
    is_admin = token_matches(given, admin)
    is_ingest = token_matches(given, ingest)
    if is_admin:
        return "admin"
    return "ingest" if is_ingest else None


def fingerprint(token: str) -> str:
    """A short non-reversible name for a token (idempotency keys and rate limits are per token)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` header value, else ``None``."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def known_scope(token: str) -> Scope | None:
    """The scope the settings give ``token``, if any."""
    settings = get_settings()
    return scope_of(token, settings.token_values(), settings.ingest_token_values())


def _authorise(credentials: HTTPAuthorizationCredentials | None, needed: Scope) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Send `Authorization: Bearer <token>` with a token the service knows.")
    scope = known_scope(credentials.credentials)
    if scope is None:
        raise Unauthorized(
            "The bearer token is not one of SYNDICATE_API_TOKENS or SYNDICATE_INGEST_TOKENS."
        )
    if needed not in GRANTS[scope]:
        raise Forbidden(
            f"This token has the `{scope}` scope, which may only post wire copy; this route "
            f"needs an `{needed}` token (SYNDICATE_API_TOKENS).",
            extra={"scope": scope, "required_scope": needed},
        )
    return fingerprint(credentials.credentials)


# The dependencies below are ``async`` though they never wait: FastAPI runs a plain ``def``
# dependency on its thread pool, and the hop there and back was about a tenth of the API's CPU
# per ``POST /v1/wire`` (docs/performance.md); these only compare and hash.


async def require_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """FastAPI dependency: the caller's token fingerprint if it is an ``admin`` token, else
    401 (no or unknown token) or 403 (an ``ingest`` token)."""
    return _authorise(credentials, "admin")


async def require_ingest(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """FastAPI dependency: the caller's token fingerprint if it may post wire copy."""
    return _authorise(credentials, "ingest")


Caller = Annotated[str, Security(require_token, scopes=["admin"])]
"""An admin caller (every write and operator route but ``POST /v1/wire``)."""

IngestCaller = Annotated[str, Security(require_ingest, scopes=["ingest"])]
"""A caller that may post wire copy (an ``ingest`` or ``admin`` token)."""


async def optional_admin(
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> str | None:
    """FastAPI dependency for public reads that show more to an ``admin`` token (withheld and
    withdrawn stories): its fingerprint; ``None`` without a token or with an ``ingest`` token
    (which reads what the public reads); 401 for a token the service does not know.

    It reads the header itself rather than through the bearer scheme, so that the route stays
    public in the OpenAPI description (no security requirement: a token is never needed)."""
    token = bearer_token(authorization)
    if token is None:
        return None
    scope = known_scope(token)
    if scope is None:
        raise Unauthorized(
            "The bearer token is not one of SYNDICATE_API_TOKENS or SYNDICATE_INGEST_TOKENS."
        )
    return fingerprint(token) if "admin" in GRANTS[scope] else None


MaybeAdmin = Annotated[str | None, Depends(optional_admin)]
"""A public reader, or an admin caller who may read every story whatever its status."""
