"""The models that cross a queue or the store: raw wire item, story, event, subscription, delivery.

Frozen and ``extra="forbid"``: a message is a fact, and a field nobody declared is a bug.
The JSON shape of ``Story`` is the public contract of ``../shared/DESIGN.md``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Role = Literal[
    "reporting",
    "additional_reporting",
    "writing",
    "editing",
    "compiling",
    "contributing",
    "photography",
    "video",
    "graphics",
    "research",
    "translation",
]
ROLES: tuple[Role, ...] = (
    "reporting",
    "additional_reporting",
    "writing",
    "editing",
    "compiling",
    "contributing",
    "photography",
    "video",
    "graphics",
    "research",
    "translation",
)
Kind = Literal["person", "organization"]
StoryStatus = Literal["usable", "withdrawn", "withheld"]
EventType = Literal[
    "story.published", "story.updated", "story.corrected", "story.killed", "feed.updated"
]
EVENT_TYPES: tuple[EventType, ...] = (
    "story.published",
    "story.updated",
    "story.corrected",
    "story.killed",
    "feed.updated",
)
WireStatus = Literal["accepted", "processing", "parsed", "duplicate", "stale", "quarantined"]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_json_dict(self) -> dict[str, Any]:
        """The public JSON shape: optional fields that are unset are left out."""
        return self.model_dump(mode="json", exclude_none=True)


class Dateline(Frozen):
    place: str | None = None
    date: str | None = Field(default=None, description="ISO 8601 date, e.g. 2026-02-02")
    agency: str | None = None


class BodyBlock(Frozen):
    type: Literal["p", "h2"] = "p"
    text: str


class Photo(Frozen):
    url: str | None = None
    caption: str = ""
    credit: str = ""


class Contributor(Frozen):
    name: str
    role: Role
    kind: Kind = "person"
    location: str | None = None


class Story(Frozen):
    """One version of a normalised story."""

    id: str
    version: int = Field(ge=1)
    status: StoryStatus = "usable"
    language: str | None = None
    headline: str
    section: str | None = None
    summary: str | None = None
    dateline: Dateline | None = None
    body: list[BodyBlock] = Field(default_factory=list)
    photos: list[Photo] = Field(default_factory=list)
    contributors: list[Contributor] = Field(default_factory=list)
    credit_line: str | None = None
    agency: str | None = None
    publisher: str | None = None
    guid: str | None = None
    first_published: AwareDatetime
    updated: AwareDatetime
    correction: str | None = None
    links: list[str] | None = None
    content_hash: str = Field(description="Hash of the editorial content; equal means duplicate.")
    source_version: int | None = Field(
        default=None, description="The version number the agency gave this copy, if any."
    )
    wire_id: str | None = Field(default=None, description="The raw item this version came from.")
    source_date: AwareDatetime | None = Field(
        default=None,
        description="The agency's own date of this copy (versionCreated, pubDate…), if any: "
        "with source_version, how an older copy arriving late is told apart (issue #3).",
    )


class WireItem(Frozen):
    """What we know about one accepted raw item (its bytes are stored beside it)."""

    id: str
    received_at: AwareDatetime
    content_type: str
    size: int
    sha256: str
    idempotency_key: str | None = None
    status: WireStatus = "accepted"
    error: dict[str, Any] | None = None
    story_ids: list[str] = Field(default_factory=list)
    event_ids: list[str] = Field(default_factory=list)
    source_id: str | None = Field(
        default=None, description="The upstream source (feed, hub or drop folder) it came from."
    )
    source_entry: str | None = Field(
        default=None, description="Which entry or file of that source: its key or file name."
    )
    default_agency: str | None = Field(
        default=None,
        description="The source's agency: the last resort of the agency precedence chain.",
    )


class Event(Frozen):
    """Something that happened to a story (or a feed), sent to render and publish."""

    id: str
    type: EventType
    timestamp: AwareDatetime
    story_id: str | None = None
    version: int | None = None
    previous_version: int | None = None
    sections: list[str] = Field(default_factory=list)
    agencies: list[str] = Field(default_factory=list)
    contributors: list[str] = Field(default_factory=list)


class FeedUpdate(Frozen):
    """A feed's rendered bytes changed (render → publish: webhooks and WebSub distribution).

    ``urls``, ``etags`` and ``content_types`` are keyed by format (``rss``, ``atom``, ``json``);
    the bytes themselves are in ``shared.feedstore`` under (``feed``, format).
    """

    id: str
    type: Literal["feed.updated"] = "feed.updated"
    timestamp: AwareDatetime
    feed: str
    urls: dict[str, str]
    etags: dict[str, str]
    content_types: dict[str, str] = Field(default_factory=dict)


class SubscriptionFilter(Frozen):
    """Empty lists match everything; values compare case-insensitively."""

    sections: list[str] = Field(default_factory=list)
    agencies: list[str] = Field(default_factory=list)
    contributors: list[str] = Field(default_factory=list)
    feeds: list[str] = Field(default_factory=list)


class RetiredSecret(Frozen):
    """A secret replaced by rotate-secret; it keeps signing until ``expires_at``."""

    secret: str
    expires_at: AwareDatetime


class Subscription(Frozen):
    id: str
    url: str
    events: list[EventType]
    filter: SubscriptionFilter = Field(default_factory=SubscriptionFilter)
    description: str | None = None
    secret: str
    created_at: AwareDatetime
    disabled: bool = False
    disabled_reason: str | None = None
    previous_secrets: list[RetiredSecret] = Field(default_factory=list)


class Attempt(Frozen):
    number: int
    at: AwareDatetime
    status_code: int | None = None
    latency_ms: float | None = None
    error: str | None = None
    response_excerpt: str | None = None
    webhook_timestamp: int | None = None


DeliveryState = Literal["pending", "succeeded", "failed", "dead", "superseded"]
DeliveryChannel = Literal["webhook", "websub"]


class Delivery(Frozen):
    id: str
    subscription_id: str
    event_id: str
    event_type: EventType
    created_at: AwareDatetime
    state: DeliveryState = "pending"
    attempts: list[Attempt] = Field(default_factory=list)
    next_attempt_at: datetime | None = None
    channel: DeliveryChannel = "webhook"
    story_id: str | None = None
    version: int | None = None
    after: str | None = Field(
        default=None,
        description="The delivery of the story's previous version to the same subscription: "
        "this one waits until that one has succeeded or given up.",
    )
    etag: str | None = Field(default=None, description="WebSub: the feed bytes it distributes.")
    schedule_start: int = Field(
        default=0, description="Attempts made before the current run of the retry schedule."
    )
    reason: str | None = Field(default=None, description="Why it stopped (dead, failed, ...).")
    replays: int = 0
