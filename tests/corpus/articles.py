"""Comparing a parse with an article's ``.expected.json`` (../shared/corpus/articles).

The same reading as the seed's ``check_story`` with what the articles' files add: a dict (the
dateline) is compared on the keys the file gives; a contributor is compared on the keys its entry
gives, and a ``role`` given as a list accepts any of its roles (the byline rule: we credit byline
people with ``reporting``, docs/attribution.md). Contributors are compared in order.
"""

from __future__ import annotations

from typing import Any

from tests.corpus.test_seed import check_story, norm


def contributor_matches(got: dict[str, Any], want: dict[str, Any]) -> bool:
    for key, value in want.items():
        if key == "role" and isinstance(value, list):
            if got.get("role") not in value:
                return False
        elif isinstance(value, str):
            if norm(got.get(key)) != norm(value):
                return False
        elif got.get(key) != value:
            return False
    return True


def check_article(story: dict[str, Any], expected: dict[str, Any]) -> None:
    plain = {}
    for key, want in expected.items():
        if key == "contributors":
            got = story.get("contributors") or []
            pairs = list(zip(got, want, strict=False))
            assert len(got) == len(want) and all(contributor_matches(g, w) for g, w in pairs), (
                [(c["name"], c["role"]) for c in got],
                [(c["name"], c["role"]) for c in want],
            )
        elif isinstance(want, dict):
            got_dict = story.get(key) or {}
            assert {k: got_dict.get(k) for k in want} == want, (key, got_dict)
        else:
            plain[key] = want
    check_story(story, plain)
