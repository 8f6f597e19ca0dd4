"""`make bench`: run every ``bench/bench_*.py`` (or those named), print figures, save JSON.

Each module has ``run() -> dict`` returning named figures (numbers or small dicts). Results go to
``bench/results/<name>.json`` with the machine's description, so runs can be compared.
Speed goals live here, never in timed unit tests.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).parent
RESULTS = HERE / "results"


def machine() -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main(argv: list[str]) -> int:
    wanted = set(argv)
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    RESULTS.mkdir(exist_ok=True)
    for name in modules:
        short = name.removeprefix("bench_")
        if wanted and short not in wanted and name not in wanted:
            continue
        module = importlib.import_module(f"bench.{name}")
        started = time.perf_counter()
        figures = module.run()
        elapsed = time.perf_counter() - started
        print(f"\n== {short} ({elapsed:.1f}s)")
        for key, value in figures.items():
            shown = repr(value) if isinstance(value, dict | list) else str(value)
            print(f"  {key:<48} {shown if len(shown) < 300 else '(see the JSON)'}")
        record = {
            "bench": short,
            "machine": machine(),
            "seconds": round(elapsed, 2),
            "figures": figures,
        }
        (RESULTS / f"{short}.json").write_text(
            json.dumps(record, indent=2, ensure_ascii=False) + "\n"
        )
    print(f"\nresults written to {RESULTS}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
