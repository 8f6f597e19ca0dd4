"""Bearer-token check for write endpoints (feeds stay public), and the optional check of reads
that show more to a known caller (withheld and withdrawn stories)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.errors import Unauthorized
from shared.settings import get_settings

_bearer = HTTPBearer(auto_error=False, description="A token from SYNDICATE_API_TOKENS")


def token_matches(given: str, allowed: list[str]) -> bool:
    """Constant-time membership: every allowed token is compared, whatever matches first."""
    given_bytes = given.encode("utf-8")
    found = False
    for token in allowed:
        found |= hmac.compare_digest(given_bytes, token.encode("utf-8"))
    return found


def fingerprint(token: str) -> str:
    """A short non-reversible name for a token (idempotency keys are scoped per token)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]


def require_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """FastAPI dependency: the caller's token fingerprint, or 401."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Send `Authorization: Bearer <token>` with a token the service knows.")
    if not token_matches(credentials.credentials, get_settings().token_values()):
        raise Unauthorized("The bearer token is not one of SYNDICATE_API_TOKENS.")
    return fingerprint(credentials.credentials)


Caller = Annotated[str, Depends(require_token)]


def optional_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str | None:
    """FastAPI dependency for public reads that show more to a known caller: the token's
    fingerprint, ``None`` without a token, 401 for a token the service does not know."""
    if credentials is None:
        return None
    return require_token(credentials)


MaybeCaller = Annotated[str | None, Depends(optional_token)]
