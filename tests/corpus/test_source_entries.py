"""Every feed in ../shared/corpus, split the way a source poll splits it: each entry alone is
the very story (and story id) the whole document gives, and splitting twice gives the same keys
and digests (so a second poll of an unchanged feed takes nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ingest.decide import story_id_for
from services.ingest.formats import ParseContext, parse
from services.ingest.sources.entries import iter_new, split
from tests.conftest import CORPUS

FEED_FORMATS = {"rss", "atom", "jsonfeed"}


def feeds() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    found = []
    for path in sorted(CORPUS.rglob("*")):
        if not path.is_file() or path.suffix not in (".xml", ".json", ".rss", ".atom"):
            continue
        head = path.read_bytes()[:4096]
        if b"<rss" in head or b"<feed" in head or b"jsonfeed.org" in head:
            found.append(path)
    return found


@pytest.mark.parametrize("path", feeds(), ids=lambda p: p.name)
def test_each_entry_is_the_story_the_whole_feed_gives(corpus_dir: Path, path: Path) -> None:
    data = path.read_bytes()
    document = split(data)
    assert document.format in FEED_FORMATS
    whole = parse(data, ParseContext())
    assert len(document.entries) == len(whole)
    for entry, expected in zip(document.entries, whole, strict=True):
        (alone,) = parse(entry.body, ParseContext(content_type=entry.content_type))
        assert story_id_for(alone) == story_id_for(expected)
        assert alone.headline == expected.headline and alone.body == expected.body
        assert alone.contributors == expected.contributors
    known = {e.key: e.digest for e in split(data).entries}
    assert list(iter_new(document.entries, known)) == []


def test_the_corpus_has_feeds(corpus_dir: Path) -> None:
    assert len(feeds()) >= 2
