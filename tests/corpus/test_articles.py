"""Real wire stories (../shared/corpus/articles) match their ``.expected.json``, read like the seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.ingest.formats import ParseContext, parse
from tests.conftest import CORPUS
from tests.corpus.articles import check_article


def article_pairs() -> list[tuple[Path, Path]]:
    folder = CORPUS / "articles"
    pairs = []
    for expected in sorted(folder.glob("*.expected.json")):
        stem = expected.name.removesuffix(".expected.json")
        source = next(p for p in folder.glob(f"{stem}.*") if not p.name.endswith(".expected.json"))
        pairs.append((source, expected))
    return pairs


@pytest.mark.parametrize(
    ("source", "expected"),
    article_pairs() if (CORPUS / "articles").is_dir() else [],
    ids=lambda p: p.name.split(".")[0] if isinstance(p, Path) else str(p),
)
def test_article_matches_expected(corpus_dir: Path, source: Path, expected: Path) -> None:
    drafts = parse(source.read_bytes(), ParseContext())
    assert len(drafts) == 1
    check_article(drafts[0].model_dump(mode="json"), json.loads(expected.read_text("utf-8")))


def test_there_are_articles(corpus_dir: Path) -> None:
    assert len(article_pairs()) >= 25
