"""What a source is, what a poll leaves behind, and what the API shows (private to ingest).

Three records per source, each written by one party so that none overwrites another's change:
``Source`` (the configuration: the API and the CLI), ``PollState`` (the poller: validators,
failures, health) and ``WebSubState`` (the poller and the WebSub callback, compare-and-set).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SourceKind = Literal["feed", "folder"]
#: the longest poll interval a source may ask for (30 days): every wait stays a date we can hold
MAX_INTERVAL_SECONDS = 30 * 86400
#: formats a feed source may be read as (``auto``: from the document itself)
FEED_FORMATS: tuple[str, ...] = ("auto", "rss", "atom", "jsonfeed")
#: the Content-Type a one-entry document of each feed format is stored with
FEED_CONTENT_TYPES: dict[str, str] = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "jsonfeed": "application/feed+json; charset=utf-8",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Source(_Frozen):
    """A source's configuration, as the API and the CLI set it."""

    id: str
    name: str
    kind: SourceKind
    url: str | None = None
    path: str | None = None
    agency: str | None = None
    interval_seconds: int
    format: str = "auto"
    enabled: bool = True
    disabled_reason: str | None = None
    timeout_seconds: float | None = None
    max_bytes: int | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime


Outcome = Literal[
    "ok",  # a document or files were read (new items or not)
    "not-modified",  # 304
    "throttled",  # 429 / 503: the upstream asked us to wait
    "error",  # anything else that went wrong
    "gone",  # 410: the source is disabled
]


class PollState(_Frozen):
    """What the polls of a source have left: validators, the failure run, health."""

    etag: str | None = None
    last_modified: str | None = None
    #: the URL the validators belong to (they are dropped when the source's URL changes)
    validators_for: str | None = None
    failures: int = 0
    last_poll_at: AwareDatetime | None = None
    last_success_at: AwareDatetime | None = None
    last_outcome: Outcome | None = None
    last_status: int | None = None
    last_error: str | None = None
    last_error_at: AwareDatetime | None = None
    next_poll_at: AwareDatetime | None = None
    next_poll_reason: str | None = None
    #: the WebSub hub and topic the last successful fetch advertised, if any
    hub: str | None = None
    topic: str | None = None


class PendingRequest(_Frozen):
    """A subscribe or unsubscribe request we sent a hub, waiting for its verification GET."""

    mode: Literal["subscribe", "unsubscribe"]
    hub: str
    topic: str
    secret: str | None = None
    lease_seconds: int | None = None
    requested_at: AwareDatetime


class WebSubState(_Frozen):
    """Our subscription to the source's upstream hub, if any."""

    hub: str | None = None
    topic: str | None = None
    secret: str | None = None
    lease_seconds: int | None = None
    expires_at: AwareDatetime | None = None
    verified_at: AwareDatetime | None = None
    pending: PendingRequest | None = None
    failures: int = 0
    retry_at: AwareDatetime | None = None
    last_error: str | None = None
    denied_reason: str | None = None

    def active(self, now: datetime) -> bool:
        return bool(self.hub and self.expires_at and self.expires_at > now)


# --- the API's shapes ----------------------------------------------------------------------------


class SourceIn(BaseModel):
    """``POST /v1/sources``: a feed (``url``) or a drop folder (``path``)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["Reuters world"])
    url: str | None = Field(
        default=None,
        min_length=1,
        max_length=2048,
        description="An RSS, Atom or JSON Feed URL (http or https).",
    )
    path: str | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        description="An absolute folder path under SYNDICATE_SOURCE_FOLDER_ROOTS.",
    )
    agency: str | None = Field(default=None, max_length=100, description="The wire it carries.")
    interval_seconds: int | None = Field(
        default=None,
        ge=1,
        le=MAX_INTERVAL_SECONDS,
        description="Poll interval; at least SOURCE_MIN_INTERVAL_SECONDS, at most 30 days.",
    )
    format: str = Field(default="auto", description="auto, or the format of the feed / files.")
    enabled: bool = True
    timeout_seconds: float | None = Field(default=None, gt=0, le=600)
    max_bytes: int | None = Field(default=None, gt=0, le=1024 * 1024 * 1024)


class SourcePatch(BaseModel):
    """``PATCH /v1/sources/{id}``: any of these; a feed keeps its ``url``, a folder its ``path``."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    url: str | None = Field(default=None, min_length=1, max_length=2048)
    path: str | None = Field(default=None, min_length=1, max_length=4096)
    agency: str | None = Field(default=None, max_length=100)
    interval_seconds: int | None = Field(default=None, ge=1, le=MAX_INTERVAL_SECONDS)
    format: str | None = None
    enabled: bool | None = None
    timeout_seconds: float | None = Field(default=None, gt=0, le=600)
    max_bytes: int | None = Field(default=None, gt=0, le=1024 * 1024 * 1024)


class Health(BaseModel):
    """Read-only: what the polls of a source have done."""

    status: Literal["new", "ok", "failing", "disabled"]
    last_poll_at: datetime | None = None
    last_success_at: datetime | None = None
    last_outcome: str | None = None
    last_status: int | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    items_taken: int = 0
    next_poll_at: datetime | None = None
    next_poll_reason: str | None = None
    etag: str | None = None
    last_modified: str | None = None


WebSubStatus = Literal["none", "pending", "active", "expired", "denied", "failed"]


class WebSubOut(BaseModel):
    """Read-only: our subscription to the source's hub (never its secret)."""

    state: WebSubStatus
    hub: str | None = None
    topic: str | None = None
    expires_at: datetime | None = None
    verified_at: datetime | None = None
    pending_mode: str | None = None
    last_error: str | None = None


class SourceOut(BaseModel):
    id: str
    name: str
    kind: SourceKind
    url: str | None = None
    path: str | None = None
    agency: str | None = None
    interval_seconds: int
    format: str
    enabled: bool
    disabled_reason: str | None = None
    timeout_seconds: float
    max_bytes: int
    created_at: datetime
    updated_at: datetime
    health: Health
    websub: WebSubOut | None = None


class SourceList(BaseModel):
    items: list[SourceOut]


class TakenItem(BaseModel):
    """One raw item a source produced (its fate is at ``GET /v1/wire/{id}``)."""

    id: str
    entry: str | None
    received_at: datetime
    status: str
    story_ids: list[str]


class TakenList(BaseModel):
    total: int
    items: list[TakenItem]
