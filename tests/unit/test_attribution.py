from __future__ import annotations

import pytest

from services.ingest.attribution import (
    format_credit_line,
    looks_like_credit,
    parse_credit_line,
    proper_case,
)
from shared.models import Contributor


def people(line: str) -> list[tuple[str, str, str, str | None]]:
    return [(c.name, c.role, c.kind, c.location) for c in parse_credit_line(line).contributors]


def test_reuters_roles_with_agency_as_reporter() -> None:
    line = "(Reporting by Reuters; writing by Ana Lima and Bo Chen; editing by Cy Dore)"
    result = parse_credit_line(line)
    assert result.parsed
    assert people(line) == [
        ("Reuters", "reporting", "organization", None),
        ("Ana Lima", "writing", "person", None),
        ("Bo Chen", "writing", "person", None),
        ("Cy Dore", "editing", "person", None),
    ]
    assert (
        result.credit_line
        == "Reporting by Reuters; Writing by Ana Lima and Bo Chen; Editing by Cy Dore"
    )


def test_place_closing_a_list_belongs_to_each_name_without_one() -> None:
    line = (
        "Additional reporting by Al Ames and Bea Burr in Washington, Cid Carr in Lima and Dee Dunn"
    )
    assert people(line) == [
        ("Al Ames", "additional_reporting", "person", "Washington"),
        ("Bea Burr", "additional_reporting", "person", "Washington"),
        ("Cid Carr", "additional_reporting", "person", "Lima"),
        ("Dee Dunn", "additional_reporting", "person", None),
    ]


def test_all_caps_and_lower_case_names_get_proper_case_with_particles() -> None:
    assert people("(REPORTING BY NIDA AL-MAHDI IN GAZA; editing by jan van der berg.)") == [
        ("Nida al-Mahdi", "reporting", "person", "Gaza"),
        ("Jan van der Berg", "editing", "person", None),
    ]


def test_diacritics_ampersand_and_oxford_comma() -> None:
    assert people(
        "Reporting by Gabriela Baczyńska, Łukasz Nowak, & Zoë Ærø; Editing by Ñ Peña"
    ) == [
        ("Gabriela Baczyńska", "reporting", "person", None),
        ("Łukasz Nowak", "reporting", "person", None),
        ("Zoë Ærø", "reporting", "person", None),
        ("Ñ Peña", "editing", "person", None),
    ]


def test_unparseable_credit_is_kept_verbatim_without_contributors() -> None:
    result = parse_credit_line("Reporting by (see our correspondents' page)")
    assert not result.parsed
    assert result.contributors == ()
    assert result.credit_line == "Reporting by (see our correspondents' page)"


def test_looks_like_credit() -> None:
    assert looks_like_credit("(Reporting by A; Editing by B)")
    assert looks_like_credit("editing by B.")
    assert not looks_like_credit("The minister said reporting by journalists was banned.")


def test_mixed_case_names_are_kept() -> None:
    assert proper_case("Tom O'Neill") == "Tom O'Neill"
    assert proper_case("DeShawn McKay") == "DeShawn McKay"
    assert proper_case("TOM O'NEILL") == "Tom O'Neill"


def test_format_credit_line_orders_groups_by_first_appearance() -> None:
    contributors = [
        Contributor(name="B", role="editing"),
        Contributor(name="A", role="reporting", location="Kyiv"),
        Contributor(name="C", role="editing"),
    ]
    assert format_credit_line(contributors) == "Editing by B and C; Reporting by A in Kyiv"
    assert format_credit_line([]) is None


@pytest.mark.parametrize("line", ["", "   ", "Help us improve."])
def test_lines_that_credit_nobody(line: str) -> None:
    assert parse_credit_line(line).contributors == ()
