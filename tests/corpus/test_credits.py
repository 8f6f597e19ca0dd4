"""``syndicate attribution`` scored on real credit lines (../shared/corpus/credits).

The score is printed; the test fails on any miss that is not in ``KNOWN_MISSES``, the explicit
list of lines we knowingly read otherwise than the corpus (each with its reason, also written in
docs/attribution.md). It is empty: we read every line. A new miss is a regression, or a new
style that becomes a named test in tests/unit/test_attribution_styles.py or a documented
decision (then, and only then, an entry here). A known miss we start reading right must leave
the list, so the list never hides anything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.corpus.credit_scoring import lines, score

#: line number in credits-real.jsonl -> why we read it otherwise (docs/attribution.md); empty today
KNOWN_MISSES: dict[int, str] = {}


def test_credit_lines_score(corpus_dir: Path, capsys: object) -> None:
    hits, total, misses = score(corpus_dir)
    print(f"\ncredits-real.jsonl: {hits}/{total} lines read as expected ({hits / total:.1%})")
    for line, got in misses:
        print(f"  miss line {line.number} [{line.style}]: {line.text!r} -> {got}")
    assert total >= 200
    unexpected = [line.number for line, _ in misses if line.number not in KNOWN_MISSES]
    assert not unexpected, f"credit lines misread (regressions or new styles): {unexpected}"
    fixed = sorted(set(KNOWN_MISSES) - {line.number for line, _ in misses})
    assert not fixed, f"known misses now read right: take them off KNOWN_MISSES: {fixed}"


def test_the_cli_runs_the_same_code(corpus_dir: Path) -> None:
    sample = list(lines(corpus_dir))[:40]
    texts = [line.text.replace("\n", " ") for line in sample]
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", "attribution"],
        input="\n".join(texts) + "\n",
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.splitlines()
    assert len(out) == len(texts)
    from services.ingest.attribution import parse_credit_line

    for text, printed in zip(texts, out, strict=True):
        result = parse_credit_line(text)
        assert json.loads(printed) == {
            "contributors": [c.to_json_dict() for c in result.contributors],
            "credit_line": result.credit_line,
        }
