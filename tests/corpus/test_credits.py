"""``syndicate attribution`` scored on real credit lines (../shared/corpus/credits).

The score is printed; the test fails below the threshold. We read every line today; the
threshold leaves room for the corpus to grow by a line or two we have not met yet, which then
becomes a named test or a decision in docs/attribution.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.corpus.credit_scoring import lines, score

THRESHOLD = 0.98


def test_credit_lines_score(corpus_dir: Path, capsys: object) -> None:
    hits, total, misses = score(corpus_dir)
    print(f"\ncredits-real.jsonl: {hits}/{total} lines read as expected ({hits / total:.1%})")
    for line, got in misses:
        print(f"  miss line {line.number} [{line.style}]: {line.text!r} -> {got}")
    assert total >= 200
    assert hits / total >= THRESHOLD, [m[0].number for m in misses]


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
