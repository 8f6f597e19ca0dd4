from __future__ import annotations

from datetime import date

import pytest

from services.ingest.dateline import caption_date, infer_year, parse_dateline

REF = date(2026, 2, 3)


@pytest.mark.parametrize(
    ("text", "place", "when", "agency", "rest"),
    [
        (
            "MOSCOW, Feb 2 (Reuters) — Russia said",
            "MOSCOW",
            date(2026, 2, 2),
            "Reuters",
            "Russia said",
        ),
        ("WASHINGTON (AP) — The Senate", "WASHINGTON", None, "AP", "The Senate"),
        ("PARIS, 3 March 2026 (AFP) - France", "PARIS", date(2026, 3, 3), "AFP", "France"),
        ("BERLIN, Jan. 5 (dpa) – Germany", "BERLIN", date(2026, 1, 5), "dpa", "Germany"),
        ("SAN JUAN, Puerto Rico (AP) — Power", "SAN JUAN, Puerto Rico", None, "AP", "Power"),
        ("BEIJING, June 5, 2019 (Xinhua) -- China", "BEIJING", date(2019, 6, 5), "Xinhua", "China"),
        ("WASHINGTON — Lawmakers met", "WASHINGTON", None, None, "Lawmakers met"),
        ("Washington (AFP) - The talks", "Washington", None, "AFP", "The talks"),
    ],
)
def test_dateline_forms(
    text: str, place: str, when: date | None, agency: str | None, rest: str
) -> None:
    parsed = parse_dateline(text, REF)
    assert parsed is not None
    assert (parsed.place, parsed.date, parsed.agency, parsed.rest) == (place, when, agency, rest)


@pytest.mark.parametrize(
    "text",
    [
        "The president said (AP) - that he would",
        "No dateline here at all.",
        "MOSCOW, Feb 2 (Reuters) —",  # nothing after it
    ],
)
def test_not_datelines(text: str) -> None:
    assert parse_dateline(text, REF) is None


def test_year_is_inferred_nearest_the_reference() -> None:
    assert infer_year(12, 30, date(2027, 1, 2)) == date(2026, 12, 30)
    assert infer_year(1, 2, date(2026, 12, 30)) == date(2027, 1, 2)
    assert infer_year(2, 29, date(2028, 3, 1)) == date(2028, 2, 29)
    assert infer_year(5, 5, None) is None


def test_caption_date() -> None:
    assert caption_date("in Moscow, Russia, February 2, 2026. Name/Pool") == date(2026, 2, 2)
    assert caption_date("no date") is None
