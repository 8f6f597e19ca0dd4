"""Identity and versioning: is this draft a new story, an update, a correction, a kill, or nothing new?

Pure: given the versions of the story we hold (or none) and a draft, say what to store and which
event to emit. One identity rule for every format (docs/formats.md, "Identity"):

- the agency's **GUID** when the copy carries one, scoped only by a *structured* provider field
  when the format has one (NewsML-G2 ``provider``, NITF ``doc-id@regsrc``); never by a value
  inferred from the content (the dateline's agency, a credit line), which can differ between
  versions of one item;
- otherwise the agency, the dateline (place and date) and the normalised headline;

never a random id, so the same copy ingested twice is always one story.

Versions (docs/formats.md, "Versions, corrections, kills"):
- content equal to a version we hold: ``duplicate``, nothing stored, no event (the latest, or an
  earlier one arriving again; only a copy explicitly newer than everything held may go back to
  earlier wording);
- an **older** copy: ``stale``, nothing changes (``is_older``: its own version number, else its
  own date, is older than what we hold; a copy with neither a number nor any flag, where we hold
  a numbered later version, is the first version); after a kill, nothing but a kill changes the
  story either;
- ``withhold``: the version is stored with status ``withheld`` and no event (a story first
  seen withheld was never published); a withheld story a later version releases emits
  ``story.published`` (its first publication); a published story that is withheld emits
  ``story.updated`` with status ``withheld`` so feeds drop it;
- kill → ``story.killed``; correction (signal or note) → ``story.corrected``; else ``story.updated``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
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
    if draft.guid:
        return derived_id("st", "guid", fold(draft.provider or ""), draft.guid.strip())
    agency = fold(draft.agency or "")
    dateline = draft.dateline
    place = fold(dateline.place or "") if dateline else ""
    day = (dateline.date or "") if dateline else ""
    return derived_id("st", "text", agency, place, day, fold(draft.headline))


#: not editorial content: how the copy travelled, when and under which number; and the guid's
#: provider scope (identity, not content)
_NOT_EDITORIAL = frozenset(
    {"format", "published", "first_created", "source_version", "credit_line_parsed", "provider"}
)


def content_hash(draft: Draft) -> str:
    """Hash of what an editor would call the content: equal hashes mean a duplicate.

    An ``update`` signal (``REFILE-``, ``UPDATE 2-``, ``sig:update``) is no content of its own:
    a refile with the same text is the same story. Kills, withholds and corrections stay in.
    """
    if draft.signal == "update":
        draft = draft.model_copy(update={"signal": None})  # hashed as plain copy
    editorial = draft.model_dump_json(exclude=set(_NOT_EDITORIAL))  # field order is fixed: stable
    return hashlib.sha256(editorial.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Held:
    """What the versions we hold say about order: their content hashes, the highest version
    number the agency gave any of them, and the latest of the agency's own dates."""

    hashes: frozenset[str]
    source_version: int | None
    source_date: datetime | None

    @classmethod
    def of(cls, versions: Sequence[Story]) -> Held:
        numbers = [v.source_version for v in versions if v.source_version is not None]
        dates = [v.source_date for v in versions if v.source_date is not None]
        return cls(
            frozenset(v.content_hash for v in versions),
            max(numbers, default=None),
            max(dates, default=None),
        )


def is_older(draft: Draft, held: Held) -> bool:
    """Is this copy older than what we hold? (``stale``: it changes nothing.)

    1. Both carry the agency's version number and they differ: the lower is older.
    2. Otherwise (no number on one side, or equal numbers), both carry the agency's own date
       (``versionCreated``, ``date.issue``, ``pubDate``, an ANPA/7901 transmission time): an
       earlier date is older.
    3. A copy with no number and no flag at all (no ``UPDATE``, ``Nth Ld``, correction, kill or
       withhold) where we hold a numbered version above 1 is the first version: older.
    """
    mine, theirs = draft.source_version, held.source_version
    if mine is not None and theirs is not None and mine != theirs:
        return mine < theirs
    if (
        draft.published is not None
        and held.source_date is not None
        and draft.published < held.source_date
    ):
        return True
    return mine is None and draft.signal is None and theirs is not None and theirs > 1


def _is_newer(draft: Draft, held: Held) -> bool:
    """Explicitly newer than everything held: a higher number, or a later own date."""
    mine, theirs = draft.source_version, held.source_version
    if mine is not None and theirs is not None and mine != theirs:
        return mine > theirs
    return (
        draft.published is not None
        and held.source_date is not None
        and draft.published > held.source_date
    )


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
        source_date=draft.published,
    )


def _outcome(existing: Story | None, draft: Draft, held: Held) -> Outcome:
    if existing is None:
        return {"kill": "kill", "withhold": "withheld"}.get(draft.signal or "", "new")  # type: ignore[return-value]
    if existing.status == "withdrawn" and draft.signal != "kill":
        return "stale"
    if is_older(draft, held):
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
    existing: Story | None,
    draft: Draft,
    *,
    now: datetime,
    wire_id: str | None = None,
    versions: Sequence[Story] | None = None,
) -> Decision:
    """What this draft means given what we hold: ``existing`` is the latest version, ``versions``
    every version oldest first (default: the latest alone)."""
    story_id = existing.id if existing else story_id_for(draft)
    digest = content_hash(draft)
    held = Held.of(versions if versions is not None else ([existing] if existing else []))
    if existing is not None and (
        existing.content_hash == digest or (digest in held.hashes and not _is_newer(draft, held))
    ):
        return Decision("duplicate", None, None)
    outcome = _outcome(existing, draft, held)
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
