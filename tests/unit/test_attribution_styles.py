"""Every credit style the issue names, on lines of our own: names, roles, places, canon."""

from __future__ import annotations

import pytest

from services.ingest.attribution import (
    is_credit_trailer,
    is_signoff,
    parse_byline,
    parse_credit_line,
)
from services.ingest.photos import photographers


def read(line: str) -> list[tuple[str, str, str, str | None]]:
    return [(c.name, c.role, c.kind, c.location) for c in parse_credit_line(line).contributors]


@pytest.mark.parametrize(
    "line",
    [
        "(Reporting by Ana Lima in Kyiv and Bo Chen; Editing by Cy Dore)",
        "Reporting by Ana Lima in Kyiv and Bo Chen; Editing by Cy Dore",  # no parentheses
        "(reporting by Ana Lima in Kyiv and Bo Chen; editing by Cy Dore.)",  # lowercase, period
        "(REPORTING BY ANA LIMA IN KYIV AND BO CHEN; EDITING BY CY DORE)",  # capitals
        "(Reporting by Ana Lima in Kyiv and Bo Chen, editing by Cy Dore)",  # comma between roles
        "Reporting by Ana Lima in Kyiv & Bo Chen; Editing by Cy Dore.",
        "(Reporting by Ana Lima in Kyiv and Bo Chen;\nEditing by Cy Dore)",  # wrapped
    ],
)
def test_reuters_role_lists_in_any_case_and_punctuation(line: str) -> None:
    result = parse_credit_line(line)
    assert result.parsed
    assert read(line) == [
        ("Ana Lima", "reporting", "person", "Kyiv"),
        ("Bo Chen", "reporting", "person", None),
        ("Cy Dore", "editing", "person", None),
    ]
    assert result.credit_line == "Reporting by Ana Lima in Kyiv and Bo Chen; Editing by Cy Dore"


def test_every_role_phrase_and_the_canonical_line() -> None:
    line = (
        "(Reporting by Reuters; Additional reporting by Al Ames, Bea Burr, and Cid Carr in "
        "Lima; Writing by Dee Dunn; Compiled by Eve Ek; Research by Fay Fu; Graphics by Gus "
        "Gil; Video by Hal Ho; Translation by Ida Iv)"
    )
    result = parse_credit_line(line)
    assert read(line) == [
        ("Reuters", "reporting", "organization", None),
        ("Al Ames", "additional_reporting", "person", "Lima"),  # the place closing the list
        ("Bea Burr", "additional_reporting", "person", "Lima"),
        ("Cid Carr", "additional_reporting", "person", "Lima"),
        ("Dee Dunn", "writing", "person", None),
        ("Eve Ek", "compiling", "person", None),
        ("Fay Fu", "research", "person", None),
        ("Gus Gil", "graphics", "person", None),
        ("Hal Ho", "video", "person", None),
        ("Ida Iv", "translation", "person", None),
    ]
    assert result.credit_line == (
        "Reporting by Reuters; Additional reporting by Al Ames in Lima, Bea Burr in Lima and "
        "Cid Carr in Lima; Writing by Dee Dunn; Compiled by Eve Ek; Research by Fay Fu; "
        "Graphics by Gus Gil; Video by Hal Ho; Translation by Ida Iv"
    )


def test_places_with_regions_and_capitals() -> None:
    assert read(
        "Additional reporting by Al Ames in RABAT, Morocco and Bea Burr in Mobile, Ala."
    ) == [
        ("Al Ames", "additional_reporting", "person", "Rabat, Morocco"),
        ("Bea Burr", "additional_reporting", "person", "Mobile, Ala."),
    ]


def test_names_with_diacritics_particles_and_capitals() -> None:
    assert read("Reporting by NIDAL AL-MUGHRABI, gabriela baczyńska and Pieter VAN DER BERG") == [
        ("Nidal al-Mughrabi", "reporting", "person", None),
        ("Gabriela Baczyńska", "reporting", "person", None),
        ("Pieter van der Berg", "reporting", "person", None),
    ]
    assert read("Editing by Ludwig von Trapp and Ibn Battuta")[0][0] == "Ludwig von Trapp"


def test_agencies_are_organisations_spelt_one_way() -> None:
    assert read("Reporting by The Associated Press and AFP; Writing by Agence France-Presse")[
        :2
    ] == [
        ("AP", "reporting", "organization", None),
        ("AFP", "reporting", "organization", None),
    ]


def test_ap_contributed_and_reported_from() -> None:
    assert read(
        "Associated Press writers Ana Lima in Lima, Peru, and Bo Chen in Oslo contributed to this report."
    ) == [
        ("Ana Lima", "contributing", "person", "Lima, Peru"),
        ("Bo Chen", "contributing", "person", "Oslo"),
    ]
    assert read("Cy Dore reported from Nairobi.") == [("Cy Dore", "reporting", "person", "Nairobi")]
    assert read("CNN's Dee Dunn contributed to this report") == [
        ("Dee Dunn", "contributing", "person", None)
    ]


def test_bloomberg_assistance_and_contact_blocks() -> None:
    assert read("--With assistance from Ana Lima and Bo Chen.") == [
        ("Ana Lima", "contributing", "person", None),
        ("Bo Chen", "contributing", "person", None),
    ]
    line = (
        "To contact the reporter on this story: Cy Dore in Boston at cdore1@example.net "
        "To contact the editors responsible for this story: Dee Dunn at ddunn@example.net Eve Ek"
    )
    assert read(line) == [
        ("Cy Dore", "reporting", "person", "Boston"),
        ("Dee Dunn", "editing", "person", None),
        ("Eve Ek", "editing", "person", None),
    ]


def test_dpa_trailers() -> None:
    assert read("- Reporting by: Ana Lima, The Harbour Times") == [
        ("Ana Lima", "reporting", "person", None)
    ]
    assert read("- Editing by: Bo Chen, +49 30 1234567, <desk@example.org>") == [
        ("Bo Chen", "editing", "person", None)
    ]


@pytest.mark.parametrize(
    "line",
    [
        "bur-xx/yy",
        "jah/ec/rl",
        "hh/ph/ts/hd",
        "dpa wsz jln npr",
        "© 2026 Example Wire. All rights reserved.",
        "^Eds: Updates with mayor comment.<",
        "AP-WF-04-11-26 1012GMT",
    ],
)
def test_desk_codes_and_notices_credit_nobody(line: str) -> None:
    assert is_signoff(line)
    result = parse_credit_line(line)
    assert result.parsed and result.contributors == () and result.credit_line is None


@pytest.mark.parametrize(
    ("credit", "names"),
    [
        ("Ana Lima/Pool via REUTERS", ["Ana Lima"]),
        ("(AP Photo/Bo Chen, File)", ["Bo Chen"]),
        ("AFP via Getty Images", []),
        ("Photo: Cy Dore/AFP via Getty Images", ["Cy Dore"]),
        ("REUTERS/DEE DUNN", ["Dee Dunn"]),
        ("© Eve Ek/dpa", ["Eve Ek"]),
        ("Credit: Reuters/Stringer", []),
    ],
)
def test_photo_credits(credit: str, names: list[str]) -> None:
    got = parse_credit_line(credit).contributors
    assert [(c.name, c.role) for c in got] == [(n, "photography") for n in names]
    # a pool photo credits no story contributor (the credit stays on the photo)
    own = [c.name for c in photographers(credit, own_only=True)]
    assert own == ([] if "Pool" in credit else names)


def test_bylines() -> None:
    assert [c.name for c in parse_byline("By ANA LIMA and Bo Chen, Associated Press Writers")] == [
        "Ana Lima",
        "Bo Chen",
    ]
    assert all(c.role == "reporting" for c in parse_byline("By Ana Lima"))
    assert parse_byline("By Reuters") == []  # the agency is the story's agency, not a person
    assert parse_byline("Von: det/dpa") == []
    assert [c.name for c in parse_byline("By Ana Lima, dpa =")] == ["Ana Lima"]


def test_unparseable_credit_lines_are_kept_verbatim_and_credit_nobody() -> None:
    for line in ("Reporting by the staff of three newspapers in 2026", "(Editing by 12345)"):
        result = parse_credit_line(line)
        assert not result.parsed and result.contributors == ()
        assert result.credit_line == line


def test_credit_trailers_are_told_from_story_sentences() -> None:
    assert is_credit_trailer("Associated Press writer Ana Lima contributed to this report.")
    assert is_credit_trailer("(Reporting by Ana Lima; Editing by Bo Chen)")
    assert not is_credit_trailer("The mayor said the harbour would reopen in spring after repairs.")


# --- lines the audit of issue #3 found misread ---------------------------------------------------


def test_an_all_lower_case_place_is_split_off() -> None:
    line = "(reporting by ana lima in kyiv and bo chen from lviv; editing by cy dore)"
    assert read(line) == [
        ("Ana Lima", "reporting", "person", "Kyiv"),
        ("Bo Chen", "reporting", "person", "Lviv"),
        ("Cy Dore", "editing", "person", None),
    ]


def test_particles_do_not_count_toward_the_length_of_a_name() -> None:
    line = "(Reporting by María José García de la Torre; Editing by Ann Lee)"
    assert read(line) == [
        ("María José García de la Torre", "reporting", "person", None),
        ("Ann Lee", "editing", "person", None),
    ]
    assert read("(Reporting by Ana Bea Cia Dee Eva Fay; Editing by Ann Lee)") == []  # six names


@pytest.mark.parametrize(
    ("line", "organisation"),
    [
        ("(Reporting by Gdansk Newsroom; Editing by Ann Lee)", "Gdansk Newsroom"),
        ("(Reporting by Reuters TV; Editing by Ann Lee)", "Reuters TV"),
        ("(Reporting by Reuters bureaus; Editing by Ann Lee)", "Reuters bureaus"),
        ("(Reporting by Bengaluru newsroom; Editing by Ann Lee)", "Bengaluru newsroom"),
        ("(REPORTING BY GDANSK NEWSROOM; EDITING BY ANN LEE)", "Gdansk Newsroom"),
    ],
)
def test_newsrooms_bureaus_and_tv_are_organisations(line: str, organisation: str) -> None:
    result = parse_credit_line(line)
    assert result.parsed
    assert read(line) == [
        (organisation, "reporting", "organization", None),
        ("Ann Lee", "editing", "person", None),
    ]


def test_a_newsroom_among_people_keeps_the_line_parsed() -> None:
    line = "(Reporting by Ana Lima, Bo Chen and the Gdansk Newsroom; Writing by Cy Dore)"
    assert parse_credit_line(line).parsed
    assert read(line) == [
        ("Ana Lima", "reporting", "person", None),
        ("Bo Chen", "reporting", "person", None),
        ("Gdansk Newsroom", "reporting", "organization", None),
        ("Cy Dore", "writing", "person", None),
    ]


@pytest.mark.parametrize(
    ("written", "proper"),
    [
        ("ELLA MCKAY", "Ella McKay"),
        ("ella mckay", "Ella McKay"),
        ("DONALD MACDONALD", "Donald MacDonald"),
        ("SEAN O'NEILL", "Sean O'Neill"),
        ("SEAN O’BRIEN", "Sean O’Brien"),
        ("ANA MACHADO", "Ana Machado"),  # Mac is no prefix here
        ("LUC MACRON", "Luc Macron"),
        ("Ella MCKAY", "Ella McKay"),  # an AFP-style surname in capitals
    ],
)
def test_mc_mac_and_o_apostrophe_names_are_given_their_case(written: str, proper: str) -> None:
    assert read(f"(Reporting by {written})") == [(proper, "reporting", "person", None)]


def test_dpa_trailers_joined_on_one_line() -> None:
    line = "- Reporting by: Jan Weber in Hamburg / - Editing by: Mia Lang"
    assert read(line) == [
        ("Jan Weber", "reporting", "person", "Hamburg"),
        ("Mia Lang", "editing", "person", None),
    ]


def test_a_reuters_contact_block_is_no_one_and_contacts_are_never_published() -> None:
    line = (
        "(Reporting by Ana Lima; Editing by Cy Dore) ((ana.lima@thomsonreuters.com; "
        "+44 20 7542 1234; Reuters Messaging: ana.lima.thomsonreuters.com@reuters.net))"
    )
    result = parse_credit_line(line)
    assert result.parsed and result.credit_line == "Reporting by Ana Lima; Editing by Cy Dore"
    unparsed = parse_credit_line(
        "(Reporting by the staff of three papers, desk@example.org, +49 30 285 232 232)"
    )
    assert not unparsed.parsed and unparsed.contributors == ()
    assert unparsed.credit_line == "(Reporting by the staff of three papers)"
