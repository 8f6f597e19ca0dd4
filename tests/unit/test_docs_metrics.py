"""Every metric the code defines is in the table of docs/operations.md, and nothing else is."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TABLE = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
#: a metric's name as the code spells it: the first argument of a metric or a family
DEFINED = re.compile(
    r"(?:Counter|Gauge|Histogram|MetricFamily|_gauge)\(\s*\"(syndicate_[a-z_]+)\"", re.MULTILINE
)


def defined() -> set[str]:
    names: set[str] = set()
    for folder in ("shared", "services"):
        for path in (ROOT / folder).rglob("*.py"):
            names |= set(DEFINED.findall(path.read_text(encoding="utf-8")))
    return names


def documented() -> set[str]:
    return set(re.findall(r"^\| `(syndicate_[a-z_]+)` \|", TABLE, flags=re.MULTILINE))


def test_every_metric_is_documented_and_every_documented_one_exists() -> None:
    code = defined()
    assert len(code) >= 20  # the pattern still finds the definitions
    docs = documented()
    # a counter family named without _total is exposed (and documented) with it
    missing = {n for n in code if n not in docs and f"{n}_total" not in docs}
    assert missing == set()
    unknown = {n for n in docs if n not in code and n.removesuffix("_total") not in code}
    assert unknown == set()
