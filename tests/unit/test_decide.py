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


def test_a_kill_first_seen_is_stored_withdrawn_with_a_killed_event() -> None:
    decision = decide(None, draft(signal="kill"), now=NOW)
    assert decision.outcome == "kill"
    assert decision.story is not None and decision.story.status == "withdrawn"
    assert decision.event is not None and decision.event.type == "story.killed"


def test_after_a_kill_only_another_kill_changes_anything() -> None:
    killed = decide(None, draft(signal="kill"), now=NOW).story
    assert decide(killed, draft(body=[BodyBlock(text="Back again.")]), now=NOW).outcome == "stale"


def test_an_equal_source_version_with_new_content_is_a_change_an_older_one_is_stale() -> None:
    first = decide(None, draft(source_version=5), now=NOW).story
    same = decide(first, draft(source_version=5, body=[BodyBlock(text="Edited.")]), now=NOW)
    assert same.outcome == "update"
    older = decide(same.story, draft(source_version=4, body=[BodyBlock(text="x")]), now=NOW)
    assert (older.outcome, older.story, older.event) == ("stale", None, None)


def test_withheld_story_emits_nothing_until_a_later_version_releases_it() -> None:
    held = decide(None, draft(signal="withhold"), now=NOW)
    assert held.outcome == "withheld" and held.event is None
    assert held.story is not None and held.story.status == "withheld"
    still = decide(held.story, draft(signal="withhold", summary="Still held."), now=NOW)
    assert still.outcome == "withheld" and still.event is None
    later = NOW + timedelta(hours=2)
    released = decide(still.story, draft(summary="Released."), now=later)
    assert released.outcome == "release"
    assert released.story is not None and released.story.status == "usable"
    assert released.story.version == 3 and released.story.first_published == later
    assert released.event is not None and released.event.type == "story.published"


def test_a_published_story_withheld_leaves_the_feeds_with_an_update() -> None:
    first = decide(None, draft(), now=NOW).story
    held = decide(first, draft(signal="withhold", summary="Held back."), now=NOW)
    assert held.outcome == "update"
    assert held.story is not None and held.story.status == "withheld"
    assert held.event is not None and held.event.type == "story.updated"


def test_first_published_comes_from_the_agency_first_created() -> None:
    created = NOW - timedelta(hours=3)
    story = decide(None, draft(first_created=created, published=NOW), now=NOW).story
    assert story is not None and (story.first_published, story.updated) == (created, NOW)


def test_update_flags_give_source_versions_so_older_updates_are_stale() -> None:
    from services.ingest.formats import ParseContext, parse

    def text(flag: str, extra: str = "") -> bytes:
        return (
            f"{flag}Keepers return to island after storm season\n\n"
            f"OSLO, March 4 (Reuters) - Two keepers returned.{extra}\n"
        ).encode()

    newer = parse(text("UPDATE 2-", " More detail."), ParseContext(NOW))[0]
    older = parse(text("UPDATE 1-"), ParseContext(NOW))[0]
    assert (newer.source_version, older.source_version, newer.signal) == (3, 2, "update")
    held = decide(None, newer, now=NOW).story
    assert story_id_for(older) == story_id_for(newer)
    assert decide(held, older, now=NOW).outcome == "stale"
