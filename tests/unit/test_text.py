"""The plain-text parser on copy as news sites republish it (our own sample, shaped like the seed)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.ingest.text import parse_text, split_headline_flags
from shared.errors import ParseError

DATA = Path(__file__).parents[1] / "data"


@pytest.fixture(scope="module")
def republished() -> object:
    return parse_text((DATA / "republished.txt").read_text(encoding="utf-8"))


def test_site_name_and_section_are_not_the_headline(republished: object) -> None:
    draft = republished
    assert draft.headline == (
        "Lighthouse Keepers Return To Remote Island After Storm Season, Officials Say"
    )
    assert draft.publisher == "Harbour Town Daily"
    assert draft.section == "Science"


def test_photo_caption_and_credit_are_split_and_kept_out_of_the_body(republished: object) -> None:
    draft = republished
    assert [(p.caption, p.credit) for p in draft.photos] == [
        (
            "Keeper Ines Ødegård inspects the lamp room on Skarvøy island, Norway, March 3, 2026.",
            "Jonas Berg/Pool via REUTERS",
        )
    ]
    assert not any("Jonas Berg" in block.text for block in draft.body)


def test_standfirst_is_the_summary(republished: object) -> None:
    assert republished.summary.startswith("Keepers are back on a remote Norwegian island")
    assert "eleven weeks — longer" in republished.summary


def test_dateline_is_taken_out_of_the_first_paragraph(republished: object) -> None:
    draft = republished
    assert draft.dateline is not None
    assert (draft.dateline.place, draft.dateline.date, draft.dateline.agency) == (
        "OSLO",
        "2026-03-04",  # the year comes from the dated caption
        "Reuters",
    )
    assert draft.body[0].text.startswith("Norway's coastal administration said on Wednesday")
    assert draft.agency == "Reuters"


def test_subheads_paragraphs_and_typographic_quotes(republished: object) -> None:
    kinds = [(b.type, b.text[:20]) for b in republished.body]
    assert ("h2", "Eleven Weeks On Batt") in kinds
    assert ("h2", "What Comes Next") in kinds
    assert any(b.text.startswith("“We are relieved") for b in republished.body)


def test_boilerplate_and_credit_line_are_not_body(republished: object) -> None:
    text = " ".join(b.text for b in republished.body)
    for junk in (
        "Help us improve",
        "Related Articles",
        "Trending",
        "Harbour Town Daily",
        "Reporting by",
    ):
        assert junk not in text


def test_credit_line_becomes_contributors(republished: object) -> None:
    people = [(c.name, c.role, c.kind, c.location) for c in republished.contributors]
    assert people == [
        ("Reuters", "reporting", "organization", None),
        ("Ana Souza", "additional_reporting", "person", "Lisbon"),
        ("Pieter van der Berg", "writing", "person", None),
        ("Ella Mckay", "writing", "person", None),
        ("Tom O'Neill", "editing", "person", None),
    ]
    assert republished.credit_line == (
        "Reporting by Reuters; Additional reporting by Ana Souza in Lisbon; "
        "Writing by Pieter van der Berg and Ella Mckay; Editing by Tom O'Neill"
    )


def test_plain_wire_copy_without_site_furniture() -> None:
    draft = parse_text(
        (DATA / "plain_wire.txt").read_text(encoding="utf-8"),
        received=datetime(2026, 1, 6, tzinfo=UTC),
    )
    assert draft.headline == "Tram network reopens after signal upgrade"
    assert draft.dateline is not None and draft.dateline.date == "2026-01-05"
    assert draft.agency == "dpa"
    assert [b.text for b in draft.body] == [
        "The city's tram network reopened on Monday after a three-day signal upgrade, the operator said.",
        "Passengers reported only minor delays on the first morning.",
    ]
    assert draft.summary == draft.body[0].text
    assert draft.credit_line == "Reporting by Greta Lindqvist; Editing by Marc Dubois"


def test_empty_copy_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_text("\n\n  \n")


@pytest.mark.parametrize(
    ("headline", "expected"),
    [
        ("UPDATE 2-Fed holds rates", ("Fed holds rates", "update")),
        ("CORRECTED-Fed holds rates", ("Fed holds rates", "correction")),
        ("REFILE-UPDATE 1-Fed holds rates", ("Fed holds rates", "update")),
        ("KILL - Fed holds rates", ("Fed holds rates", "kill")),
        ("Fed holds rates", ("Fed holds rates", None)),
    ],
)
def test_headline_flags(headline: str, expected: tuple[str, str | None]) -> None:
    assert split_headline_flags(headline) == expected
