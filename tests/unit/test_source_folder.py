"""Drop folders, without Redis: when a file is complete, which names wait, where taken files go,
which folders a source may name."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.ingest.sources.folder import (
    DONE,
    FAILED,
    Seen,
    Watch,
    check_path,
    finish,
    in_progress,
    judge,
    scan,
)
from shared.errors import InvalidInput

NOW = 1_800_000_000.0
AT = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)


def seen(size: int, mtime: float, name: str = "story.xml") -> Seen:
    return Seen(name, size, int(mtime * 1e9))


def test_a_file_is_complete_once_two_polls_saw_it_unchanged_for_the_settle_time() -> None:
    watch, done = judge(None, seen(100, NOW), NOW, 5)
    assert not done and watch == Watch(100, int(NOW * 1e9), NOW)
    watch, done = judge(watch, seen(100, NOW), NOW + 2, 5)
    assert not done  # unchanged, but not for long enough
    _, done = judge(watch, seen(100, NOW), NOW + 5, 5)
    assert done


def test_a_growing_file_starts_its_quiet_time_again() -> None:
    watch, _ = judge(None, seen(100, NOW), NOW, 5)
    watch, done = judge(watch, seen(250, NOW + 4), NOW + 4, 5)
    assert not done and watch.size == 250 and watch.since == NOW + 4
    _, done = judge(watch, seen(250, NOW + 4), NOW + 8, 5)
    assert not done
    _, done = judge(watch, seen(250, NOW + 4), NOW + 9, 5)
    assert done


def test_a_rewrite_of_the_same_size_counts_as_a_change() -> None:
    watch, _ = judge(None, seen(100, NOW), NOW, 5)
    watch, done = judge(watch, seen(100, NOW + 3), NOW + 6, 5)
    assert not done and watch.since == NOW + 3


def test_an_old_file_is_taken_at_the_second_look() -> None:
    """A file renamed into place long after it was written (or present at start) is quiet
    already: the second poll takes it, the first never does."""
    watch, done = judge(None, seen(100, NOW - 3600), NOW, 5)
    assert not done
    _, done = judge(watch, seen(100, NOW - 3600), NOW + 1, 5)
    assert done


def test_a_modification_time_in_the_future_does_not_hold_a_file_forever() -> None:
    watch, _ = judge(None, seen(100, NOW + 3600), NOW, 5)
    assert watch.since == NOW
    _, done = judge(watch, seen(100, NOW + 3600), NOW + 5, 5)
    assert done


@pytest.mark.parametrize(
    ("name", "waiting"),
    [
        ("story.xml", False),
        ("STORY.TXT", False),
        (".story.xml", True),
        ("story.xml.tmp", True),
        ("story.xml.part", True),
        ("story.partial", True),
        ("story.crdownload", True),
        ("story.xml~", True),
        ("story.TMP", True),
    ],
)
def test_temporary_names_wait_to_be_renamed_into_place(name: str, waiting: bool) -> None:
    assert in_progress(name) is waiting


def test_scan_lists_regular_files_only(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_bytes(b"<a/>")
    (tmp_path / ".b.xml").write_bytes(b"<b/>")
    (tmp_path / "c.xml.part").write_bytes(b"<c")
    (tmp_path / DONE).mkdir()
    (tmp_path / "elsewhere").write_bytes(b"x")
    os.symlink(tmp_path / "elsewhere", tmp_path / "link.xml")
    found = scan(tmp_path)
    assert sorted(s.name for s in found) == ["a.xml", "elsewhere"]  # no dotfile, part, link
    assert next(s for s in found if s.name == "a.xml").size == 4


def test_taken_files_move_to_done_and_failed_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "one.xml").write_bytes(b"1")
    moved = finish(tmp_path, "one.xml", DONE, at=AT, wire_id="wire_a")
    assert moved == tmp_path / DONE / "one.xml" and moved.read_bytes() == b"1"
    (tmp_path / "one.xml").write_bytes(b"2")  # the same name again: kept apart
    again = finish(tmp_path, "one.xml", DONE, at=AT)
    assert again == tmp_path / DONE / "one.1.xml" and again.read_bytes() == b"2"
    assert not (tmp_path / DONE / "one.xml.reason.json").exists()

    (tmp_path / "bad").write_bytes(b"<x")
    failed = finish(tmp_path, "bad", FAILED, at=AT, wire_id="wire_b", reason="malformed XML")
    assert failed == tmp_path / FAILED / "bad"
    note = json.loads((tmp_path / FAILED / "bad.reason.json").read_text())
    assert note == {
        "file": "bad",
        "reason": "malformed XML",
        "wire_id": "wire_b",
        "at": AT.isoformat(),
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == [DONE, FAILED]


def test_a_source_folder_must_be_under_a_root(tmp_path: Path) -> None:
    root = (tmp_path / "drop").resolve()
    (root / "reuters").mkdir(parents=True)
    assert check_path(str(root / "reuters"), [root]) == root / "reuters"
    assert check_path(str(root / "not-yet"), [root]) == root / "not-yet"
    with pytest.raises(InvalidInput, match="absolute"):
        check_path("drop/reuters", [root])
    with pytest.raises(InvalidInput, match="SYNDICATE_SOURCE_FOLDER_ROOTS"):
        check_path("/etc", [root])
    with pytest.raises(InvalidInput, match="not inside"):
        check_path(str(root / ".." / "elsewhere"), [root])
    with pytest.raises(InvalidInput, match="not inside"):
        check_path(str(root), [root])  # the root itself: its own done/ would be a source's
    os.symlink("/etc", root / "sneaky")
    with pytest.raises(InvalidInput, match="not inside"):
        check_path(str(root / "sneaky"), [root])


@pytest.mark.parametrize("name", [DONE, FAILED])
def test_a_file_named_done_or_failed_is_never_taken(tmp_path: Path, name: str) -> None:
    """Those names are where taken files go: a file under one is left alone (taking it would
    move it into a folder of its own name, and fail every poll after)."""
    (tmp_path / name).write_bytes(b"OSLO, Sept 1 (Reuters) - copy under an unlucky name.")
    (tmp_path / "story.txt").write_bytes(b"copy")
    assert [s.name for s in scan(tmp_path)] == ["story.txt"]


def test_a_folder_that_cannot_be_resolved_is_refused(tmp_path: Path) -> None:
    root = (tmp_path / "drop").resolve()
    root.mkdir()
    with pytest.raises(InvalidInput, match="cannot be resolved"):
        check_path(f"{root}/a\x00b", [root])  # Path.resolve: "embedded null byte"
    os.symlink(root / "loop-b", root / "loop-a")
    os.symlink(root / "loop-a", root / "loop-b")
    with pytest.raises(InvalidInput, match="cannot be resolved"):
        check_path(str(root / "loop-a"), [root])  # a loop of symbolic links
