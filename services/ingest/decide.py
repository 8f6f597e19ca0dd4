"""Identity and versioning: is this draft a new story, an update, a correction, a kill, or nothing new?

Pure: given the story as stored (or ``None``) and a draft, say what to store and which event to
emit. One identity rule for every format: the agency's GUID when the copy carries one, otherwise
the agency, the dateline and the normalised headline; never a random id, so the same copy
ingested twice is always one story.

Versions (docs/formats.md, "Versions, corrections, kills"):
- identical content: ``duplicate``, nothing stored, no event;
- an older source version than the one held (``version``, ``RevisionId``, ``UPDATE 2-``, ``2nd Ld``):
  ``stale``, nothing changes; after a kill, nothing but a kill changes the story either;
- ``withhold``: the version is stored with status ``withheld`` and no event (a story first
  seen withheld was never published); a withheld story a later version releases emits
  ``story.published`` (its first publication); a published story that is withheld emits
  ``story.updated`` with status ``withheld`` so feeds drop it;
- kill → ``story.killed``; correction (signal or note) → ``story.corrected``; else ``story.updated``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from services.ingest.draft import Draft
from services.ingest.textclean import fold
from shared.ids import derived_id
from shared.models import Event, EventType, Story

Outcome = Literal[
    "new", "update", "correction", "kill", "withheld", "release", "duplicate", "stale"
]
_EVENT_OF: dict[Outcome, EventType] = {
    "new": "story.published",
    "release": "story.published",
    "update": "story.updated",
    "correction": "story.corrected",
    "kill": "story.killed",
}


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    story: Story | None  # the version to store; ``None`` for duplicate and stale
    event: Event | None


def story_id_for(draft: Draft) -> str:
    """The story's stable id (see the module docstring)."""
    agency = fold(draft.agency or "")
    if draft.guid:
        return derived_id("st", "guid", agency, draft.guid.strip())
    dateline = draft.dateline
    place = fold(dateline.place or "") if dateline else ""
    day = (dateline.date or "") if dateline else ""
    return derived_id("st", "text", agency, place, day, fold(draft.headline))


_NOT_EDITORIAL = {"format", "published", "first_created", "source_version", "credit_line_parsed"}


def content_hash(draft: Draft) -> str:
    """Hash of what an editor would call the content: equal hashes mean a duplicate."""
    editorial = draft.model_dump_json(exclude=_NOT_EDITORIAL)  # field order is fixed: stable
    return hashlib.sha256(editorial.encode("utf-8")).hexdigest()


def event_id_for(story_id: str, version: int) -> str:
    """Deterministic, so a task run twice emits the same event (receivers dedupe on it)."""
    return derived_id("evt", story_id, str(version))


def _event(story: Story, outcome: Outcome, now: datetime, previous: int | None) -> Event:
    return Event(
        id=event_id_for(story.id, story.version),
        type=_EVENT_OF[outcome],
        timestamp=now,
        story_id=story.id,
        version=story.version,
        previous_version=previous,
        sections=[story.section] if story.section else [],
        agencies=[story.agency] if story.agency else [],
        contributors=[c.name for c in story.contributors],
    )


def _story(
    draft: Draft,
    story_id: str,
    version: int,
    first_published: datetime,
    updated: datetime,
    wire_id: str | None,
    digest: str,
) -> Story:
    status = "usable"
    if draft.signal == "kill":
        status = "withdrawn"
    elif draft.signal == "withhold":
        status = "withheld"
    return Story(
        id=story_id,
        version=version,
        status=status,
        language=draft.language,
        headline=draft.headline,
        section=draft.section,
        summary=draft.summary,
        dateline=draft.dateline,
        body=draft.body,
        photos=draft.photos,
        contributors=draft.contributors,
        credit_line=draft.credit_line,
        agency=draft.agency,
        publisher=draft.publisher,
        guid=draft.guid,
        first_published=first_published,
        updated=updated,
        correction=draft.correction,
        links=draft.links or None,
        content_hash=digest,
        wire_id=wire_id,
        source_version=draft.source_version,
    )


def _outcome(existing: Story | None, draft: Draft) -> Outcome:
    if existing is None:
        return {"kill": "kill", "withhold": "withheld"}.get(draft.signal or "", "new")  # type: ignore[return-value]
    if existing.status == "withdrawn" and draft.signal != "kill":
        return "stale"
    if (
        draft.source_version is not None
        and existing.source_version is not None
        and draft.source_version < existing.source_version
    ):
        return "stale"
    if draft.signal == "kill":
        return "kill"
    if draft.signal == "withhold":
        return "withheld" if existing.status == "withheld" else "update"
    if existing.status == "withheld":
        return "release"
    if draft.signal == "correction" or draft.correction:
        return "correction"
    return "update"


def decide(
    existing: Story | None, draft: Draft, *, now: datetime, wire_id: str | None = None
) -> Decision:
    """What this draft means given what we hold."""
    story_id = existing.id if existing else story_id_for(draft)
    digest = content_hash(draft)
    if existing is not None and existing.content_hash == digest:
        return Decision("duplicate", None, None)
    outcome = _outcome(existing, draft)
    if outcome == "stale":
        return Decision("stale", None, None)
    published = draft.published or now
    if existing is None or outcome == "release":
        first = draft.first_created or published
        if outcome == "release":
            first = now  # first published when released, not when it was written
        version = existing.version + 1 if existing else 1
        story = _story(draft, story_id, version, first, max(first, published), wire_id, digest)
        previous = existing.version if existing else None
    else:
        updated = max(published, existing.updated)
        story = _story(
            draft,
            story_id,
            existing.version + 1,
            existing.first_published,
            updated,
            wire_id,
            digest,
        )
        previous = existing.version
    event = _event(story, outcome, now, previous) if outcome in _EVENT_OF else None
    return Decision(outcome, story, event)
