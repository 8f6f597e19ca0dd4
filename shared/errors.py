"""One rooted error hierarchy for the whole service.

Each error says whether retrying can help, which resource it concerns, and which HTTP status and
problem type it becomes at the edge (``shared.problems``). Foreign exceptions are wrapped into
these at the boundary where they occur; nothing else is shown to a client.
"""

from __future__ import annotations

from typing import Any, ClassVar


class SyndicateError(Exception):
    """Root of every error the service raises on purpose."""

    status: ClassVar[int] = 500
    type_slug: ClassVar[str] = "internal"
    title: ClassVar[str] = "Internal error"
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        detail: str,
        *,
        resource: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.resource = resource
        self.extra = dict(extra or {})


class ConfigurationError(SyndicateError):
    """The service is configured in a way that cannot work."""

    type_slug = "configuration"
    title = "Configuration error"


class BadRequest(SyndicateError):
    status = 400
    type_slug = "bad-request"
    title = "Bad request"


class Unauthorized(SyndicateError):
    status = 401
    type_slug = "unauthorized"
    title = "Missing or invalid bearer token"


class Forbidden(SyndicateError):
    """A valid token whose scope does not cover the request (an ingest token on an admin route)."""

    status = 403
    type_slug = "forbidden"
    title = "Token not allowed here"


class NotFound(SyndicateError):
    status = 404
    type_slug = "not-found"
    title = "Not found"


class Conflict(SyndicateError):
    status = 409
    type_slug = "conflict"
    title = "Conflict"


class PayloadTooLarge(SyndicateError):
    status = 413
    type_slug = "payload-too-large"
    title = "Payload too large"


class UnsupportedMediaType(SyndicateError):
    status = 415
    type_slug = "unsupported-media-type"
    title = "Unsupported media type"


class InvalidInput(SyndicateError):
    """Well-formed request whose content we refuse (a field, a URL, a target)."""

    status = 422
    type_slug = "invalid-input"
    title = "Invalid input"


class ParseError(InvalidInput):
    """Copy that could not be parsed. ``line``/``column`` say where, when known."""

    type_slug = "parse-error"
    title = "Copy could not be parsed"

    def __init__(
        self,
        detail: str,
        *,
        format: str | None = None,
        line: int | None = None,
        column: int | None = None,
        resource: str | None = None,
    ) -> None:
        extra: dict[str, Any] = {}
        if format:
            extra["format"] = format
        if line is not None:
            extra["line"] = line
        if column is not None:
            extra["column"] = column
        super().__init__(detail, resource=resource, extra=extra)
        self.format = format
        self.line = line
        self.column = column


class TargetRefused(InvalidInput):
    """An outbound target (webhook, WebSub callback, source) that the SSRF guard refuses."""

    type_slug = "target-refused"
    title = "Target refused"


class Unavailable(SyndicateError):
    """A dependency (Redis) is down; the client may retry."""

    status = 503
    type_slug = "unavailable"
    title = "Service unavailable"
    retryable = True


class DeliveryError(SyndicateError):
    """An outbound HTTP attempt failed in a way worth retrying."""

    type_slug = "delivery-failed"
    title = "Delivery failed"
    retryable = True


# --- ingest: story visibility (issue #3) ---------------------------------------------------------


class Gone(SyndicateError):
    """A resource that existed and was withdrawn on purpose (a killed story)."""

    status = 410
    type_slug = "gone"
    title = "Gone"
