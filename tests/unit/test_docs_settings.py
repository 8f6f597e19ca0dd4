"""Every setting is in the README's configuration table (the standard: document each new one)."""

from __future__ import annotations

from pathlib import Path

from shared.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_in_the_readme() -> None:
    rows = {
        line.split("|")[1].strip(" `")
        for line in README.splitlines()
        if line.startswith("| `SYNDICATE_")
    }
    missing = [f"SYNDICATE_{name.upper()}" for name in Settings.model_fields]
    assert [name for name in missing if name not in rows] == []
