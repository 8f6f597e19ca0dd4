"""Scoring ``syndicate attribution`` on ../shared/corpus/credits/credits-real.jsonl.

A line scores when the contributors we read equal the expected ones, compared as the corpus
README says: ``score: all`` compares every contributor (name, role, kind, and the location when
the expected entry gives one); ``score: persons`` compares only people; ``skip`` lines are left out.
Order does not matter; each contributor appears once per role.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.ingest.attribution import parse_credit_line


@dataclass(frozen=True)
class Line:
    number: int
    text: str
    score: str
    expected: list[dict[str, Any]]
    style: str


def lines(corpus: Path) -> Iterator[Line]:
    path = corpus / "credits" / "credits-real.jsonl"
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if raw.strip():
            data = json.loads(raw)
            yield Line(number, data["text"], data["score"], data["contributors"], data["style"])


def _key(entry: dict[str, Any], with_location: bool) -> tuple[Any, ...]:
    return (
        entry["name"],
        entry["role"],
        entry.get("kind", "person"),
        entry.get("location") if with_location else None,
    )


def matches(line: Line) -> tuple[bool, list[dict[str, Any]]]:
    got = [c.to_json_dict() for c in parse_credit_line(line.text).contributors]
    want = line.expected
    if line.score == "persons":
        got = [c for c in got if c.get("kind") == "person"]
        want = [c for c in want if c.get("kind", "person") == "person"]
    # a location counts when the expected entry gives one
    want_keys = sorted(_key(c, "location" in c) for c in want)
    located = {(c["name"], c["role"]) for c in want if "location" in c}
    got_keys = sorted(_key(c, (c["name"], c["role"]) in located) for c in got)
    return want_keys == got_keys, got


def score(corpus: Path) -> tuple[int, int, list[tuple[Line, list[dict[str, Any]]]]]:
    hits = total = 0
    misses: list[tuple[Line, list[dict[str, Any]]]] = []
    for line in lines(corpus):
        if line.score == "skip":
            continue
        total += 1
        ok, got = matches(line)
        if ok:
            hits += 1
        else:
            misses.append((line, got))
    return hits, total, misses
