"""Drop folders: which files are complete, and where they go once taken.

A file is taken when it is **complete**: two polls saw the same size and modification time, and
neither has changed for ``settle`` seconds (``SYNDICATE_SOURCE_FILE_SETTLE_SECONDS``). Files
written under a temporary name (a leading dot; ``.tmp``, ``.part``, ``.partial``,
``.crdownload``, ``.download``, ``.swp``, ``~`` at the end) are left alone until renamed into
place. Symbolic links and folders are never read. A taken file is moved to ``done/`` (it became a
raw item) or ``failed/`` with ``<name>.reason.json`` beside it saying why.

``judge`` is pure; the rest touches the file system and nothing else.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from shared.errors import InvalidInput

DONE = "done"
FAILED = "failed"
TEMP_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".download", ".swp", "~")
ROOTS_SETTING = "SYNDICATE_SOURCE_FOLDER_ROOTS"


@dataclass(frozen=True)
class Seen:
    """A file as one poll saw it."""

    name: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Watch:
    """What is remembered of a file between polls."""

    size: int
    mtime_ns: int
    since: float  # epoch seconds since when size and mtime have been these

    def dumps(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def loads(cls, text: str) -> Watch | None:
        try:
            data = json.loads(text)
            return cls(int(data["size"]), int(data["mtime_ns"]), float(data["since"]))
        except (ValueError, KeyError, TypeError):
            return None


def in_progress(name: str) -> bool:
    """A name that says the file is still being written (it will be renamed into place)."""
    return name.startswith(".") or name.lower().endswith(TEMP_SUFFIXES)


def judge(previous: Watch | None, seen: Seen, now: float, settle: float) -> tuple[Watch, bool]:
    """What to remember of a file now, and whether it is complete (pure)."""
    if previous is None or (previous.size, previous.mtime_ns) != (seen.size, seen.mtime_ns):
        # new, or changed since the last poll: quiet at most since its mtime, never the future
        return Watch(seen.size, seen.mtime_ns, min(now, seen.mtime_ns / 1e9)), False
    quiet = min(previous.since, now)
    return previous, now - quiet >= settle


def check_path(path: str, roots: list[Path]) -> Path:
    """The folder, resolved; ``InvalidInput`` unless it is absolute and under one of the roots
    (so a token cannot make the service read, and move files out of, any folder it likes)."""
    given = Path(path)
    if not given.is_absolute():
        raise InvalidInput(f"path {path!r} must be absolute", resource=path)
    try:
        resolved = given.expanduser().resolve()
    except (OSError, ValueError, RuntimeError) as exc:  # a NUL byte; a loop of symbolic links
        raise InvalidInput(f"path {path!r} cannot be resolved: {exc}", resource=path) from None
    for root in roots:
        if resolved != root and resolved.is_relative_to(root):
            return resolved
    listed = ", ".join(str(root) for root in roots)
    raise InvalidInput(
        f"path {path!r} is not inside a drop-folder root ({listed}); add one with {ROOTS_SETTING}",
        resource=path,
    )


def scan(folder: Path) -> list[Seen]:
    """The regular files in the folder (not in ``done/``/``failed/``, not being written). Names
    ``done`` and ``failed`` are never taken, even as files: they are where taken files go."""
    found: list[Seen] = []
    with os.scandir(folder) as listing:
        for entry in listing:
            if entry.name in (DONE, FAILED) or in_progress(entry.name):
                continue
            if not entry.is_file(follow_symlinks=False):
                continue
            stat = entry.stat(follow_symlinks=False)
            found.append(Seen(entry.name, stat.st_size, stat.st_mtime_ns))
    return sorted(found, key=lambda seen: (seen.mtime_ns, seen.name))


def read(folder: Path, name: str, max_bytes: int) -> bytes | None:
    """The file's bytes, or ``None`` when it is over ``max_bytes``."""
    with (folder / name).open("rb") as handle:
        data = handle.read(max_bytes + 1)
    return None if len(data) > max_bytes else data


def finish(
    folder: Path,
    name: str,
    to: str,
    *,
    at: datetime,
    wire_id: str | None = None,
    reason: str | None = None,
) -> Path:
    """Move a taken file to ``done/`` or ``failed/`` (a free name: ``story.xml`` becomes
    ``story.1.xml`` when taken); in ``failed/`` write why beside it."""
    target_dir = folder / to
    target_dir.mkdir(exist_ok=True)
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        stem, suffix = name, ""
    target = target_dir / name
    counter = 0
    while target.exists():
        counter += 1
        target = target_dir / (f"{stem}.{counter}.{suffix}" if suffix else f"{name}.{counter}")
    os.rename(folder / name, target)
    if reason is not None:
        note = {"file": name, "reason": reason, "wire_id": wire_id, "at": at.isoformat()}
        beside = target.with_name(target.name + ".reason.json")
        beside.write_text(json.dumps(note, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return target
