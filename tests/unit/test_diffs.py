"""What a WebSub push carries: the entries of a render that the render announced before it
lacked (new stories and new versions), in the document's order."""

from __future__ import annotations

from datetime import UTC, datetime

from services.render.diffs import diff, marks
from services.render.entries import Tombstone
from tests.support.stories import rich_story

WHEN = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def test_nothing_to_compare_with_means_no_diff() -> None:
    assert diff(None, [rich_story(1)], []) is None


def test_new_stories_and_new_versions_make_the_diff_in_document_order() -> None:
    one, two, three = rich_story(1), rich_story(2), rich_story(3)
    before = frozenset(marks([two, one], []))
    two_again = rich_story(2, version=2, headline="Updated")
    change = diff(before, [three, two_again, one], [])
    assert change is not None
    assert [(s.id, s.version) for s in change.stories] == [("st_3", 1), ("st_2", 2)]
    assert change.tombstones == ()


def test_a_change_with_no_new_entry_has_no_diff() -> None:
    """A removal (or the feed's own data changing): the whole document goes out instead."""
    one, two = rich_story(1), rich_story(2)
    before = frozenset(marks([two, one], []))
    gone = Tombstone(ref="urn:syndicate:story:st_2", when=WHEN)
    assert diff(before, [one], [gone]) is None
    assert diff(before, [two, one], []) is None


def test_new_tombstones_go_with_new_entries_and_old_ones_do_not() -> None:
    one, two = rich_story(1), rich_story(2)
    old = Tombstone(ref="urn:syndicate:story:st_8", when=WHEN)
    new = Tombstone(ref="urn:syndicate:story:st_9", when=WHEN)
    before = frozenset(marks([one], [old]))
    change = diff(before, [two, one], [new, old])
    assert change is not None
    assert [s.id for s in change.stories] == ["st_2"]
    assert change.tombstones == (new,)


def test_stories_that_arrived_below_the_document_join_the_diff_by_date() -> None:
    """Late copy (dated before the newest entries) and new versions of stories on archive
    pages are not in the document, yet their subscribers are pushed them."""
    two, three = rich_story(2), rich_story(3)
    before = frozenset(marks([three, two], []))
    four = rich_story(4)
    late = rich_story(0)  # dated before everything shown
    corrected = rich_story(1, version=2, headline="Corrected")  # on an archive page
    change = diff(before, [four, three], [], [late, corrected, four])
    assert change is not None
    assert [(s.id, s.version) for s in change.stories] == [("st_4", 1), ("st_1", 2), ("st_0", 1)]
    # arrivals alone make a diff; nothing new anywhere makes none
    only = diff(before, [three, two], [], [late])
    assert only is not None and [s.id for s in only.stories] == ["st_0"]
    assert diff(before, [three, two], [], [three]) is None
    assert diff(None, [three, two], [], [late]) is None
