from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.ingest.decide import content_hash, decide, event_id_for, story_id_for
from services.ingest.draft import Draft
from shared.models import BodyBlock, Dateline

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def draft(**changes: object) -> Draft:
    base = Draft(
        format="text",
        headline="Keepers return to island",
        dateline=Dateline(place="OSLO", date="2026-03-04", agency="Reuters"),
        body=[BodyBlock(text="Two keepers returned.")],
        agency="Reuters",
    )
    return base.model_copy(update=changes)


def test_new_story_gets_version_one_and_a_published_event() -> None:
    decision = decide(None, draft(), now=NOW, wire_id="wire_a")
    assert decision.outcome == "new"
    assert decision.story is not None and decision.story.version == 1
    assert decision.story.first_published == decision.story.updated == NOW
    assert decision.event is not None and decision.event.type == "story.published"
    assert decision.event.id == event_id_for(decision.story.id, 1)


def test_identity_is_stable_and_ignores_case_and_spacing() -> None:
    assert story_id_for(draft()) == story_id_for(draft(headline="KEEPERS  return to island"))
    assert story_id_for(draft()) != story_id_for(draft(headline="Another story"))
    assert story_id_for(draft(guid="tag:x,2026:1")) == story_id_for(
        draft(guid="tag:x,2026:1", headline="Changed headline")
    )


def test_identical_copy_is_a_duplicate() -> None:
    first = decide(None, draft(), now=NOW).story
    again = decide(first, draft(), now=NOW + timedelta(minutes=5))
    assert again.outcome == "duplicate"
    assert again.story is None and again.event is None


def test_changed_copy_is_an_update_that_keeps_published() -> None:
    first = decide(None, draft(), now=NOW).story
    later = NOW + timedelta(hours=1)
    changed = decide(first, draft(body=[BodyBlock(text="Three keepers returned.")]), now=later)
    assert changed.outcome == "update"
    assert changed.story is not None
    assert changed.story.version == 2
    assert changed.story.first_published == NOW
    assert changed.story.updated == later
    assert changed.event is not None and changed.event.type == "story.updated"
    assert changed.event.previous_version == 1


def test_correction_and_kill() -> None:
    first = decide(None, draft(), now=NOW).story
    corrected = decide(first, draft(signal="correction", correction="Fixes the count."), now=NOW)
    assert corrected.outcome == "correction"
    assert corrected.event is not None and corrected.event.type == "story.corrected"
    killed = decide(corrected.story, draft(signal="kill"), now=NOW)
    assert killed.outcome == "kill"
    assert killed.story is not None and killed.story.status == "withdrawn"
    assert killed.event is not None and killed.event.type == "story.killed"


def test_older_source_version_is_stale() -> None:
    first = decide(None, draft(source_version=5), now=NOW).story
    older = decide(first, draft(source_version=4, body=[BodyBlock(text="old")]), now=NOW)
    assert older.outcome == "stale" and older.story is None


def test_content_hash_ignores_format_and_dates() -> None:
    assert content_hash(draft()) == content_hash(draft(format="html", published=NOW))
    assert content_hash(draft()) != content_hash(draft(summary="x"))
