"""The seed story (a real Reuters story as a site republished it) parses exactly as expected."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

from services.ingest.formats import ParseContext, parse


def norm(text: str | None) -> str:
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def seeds(corpus: Path) -> list[tuple[Path, Path]]:
    found = sorted((corpus / "seed").glob("*.expected.json"))
    return [(p.with_name(p.name.replace(".expected.json", ".txt")), p) for p in found]


def check_story(draft_json: dict[str, object], expected: dict[str, object]) -> None:
    """Compare a parse with an ``.expected.json`` (``_contains``/``_excludes`` are substring checks)."""
    body_text = " ".join(b["text"] for b in draft_json["body"])  # type: ignore[index, union-attr]
    for key, want in expected.items():
        if key.startswith("_"):
            continue
        if key == "summary_contains":
            for part in want:  # type: ignore[union-attr]
                assert norm(part) in norm(draft_json["summary"]), part  # type: ignore[arg-type]
        elif key == "body_contains":
            for part in want:  # type: ignore[union-attr]
                assert norm(part) in norm(body_text), part
        elif key == "body_excludes":
            for part in want:  # type: ignore[union-attr]
                assert part not in body_text, part
        elif key == "body_first_paragraph_starts":
            first = next(b for b in draft_json["body"] if b["type"] == "p")  # type: ignore[union-attr, index]
            assert norm(first["text"]).startswith(norm(want)), first  # type: ignore[arg-type]
        elif key == "subheadings":
            assert [b["text"] for b in draft_json["body"] if b["type"] == "h2"] == want  # type: ignore[union-attr, index]
        elif key == "photos":
            got = [
                {"caption": norm(p["caption"]), "credit": norm(p["credit"])}
                for p in draft_json["photos"]
            ]  # type: ignore[union-attr, index]
            assert got == [
                {"caption": norm(p["caption"]), "credit": norm(p["credit"])} for p in want
            ]  # type: ignore[union-attr, index]
        elif key == "contributors":
            got = [
                {k: v for k, v in c.items() if v is not None} for c in draft_json["contributors"]
            ]  # type: ignore[union-attr]
            assert got == want
        elif isinstance(want, str):
            assert norm(draft_json.get(key)) == norm(want), key  # type: ignore[arg-type]
        else:
            assert draft_json.get(key) == want, key


def test_seed_matches_expected(corpus_dir: Path) -> None:
    pairs = seeds(corpus_dir)
    assert pairs, "no seed in the corpus"
    for text_path, expected_path in pairs:
        expected = json.loads(expected_path.read_text(encoding="utf-8"))
        drafts = parse(text_path.read_bytes(), ParseContext(content_type="text/plain"))
        assert len(drafts) == 1
        check_story(drafts[0].model_dump(mode="json"), expected)
