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
        ("Ella McKay", "writing", "person", None),  # ELLA MCKAY in the copy
        ("Tom O'Neill", "editing", "person", None),
    ]
    assert republished.credit_line == (
        "Reporting by Reuters; Additional reporting by Ana Souza in Lisbon; "
        "Writing by Pieter van der Berg and Ella McKay; Editing by Tom O'Neill"
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


# --- the front of a story: bylines and notes before the dateline ------------------------------

RECEIVED = datetime(2026, 2, 3, tzinfo=UTC)


def test_a_byline_before_the_dateline_credits_reporting() -> None:
    draft = parse_text(
        "Ferry fares rise for the summer season\n\nBy Ines Lobo\n\n"
        "LISBON, Feb 2 (Reuters) - Ferry fares will rise in June, the operator said.\n\n"
        "(Editing by Tomas Berg)\n",
        received=RECEIVED,
    )
    assert draft.summary == "Ferry fares will rise in June, the operator said."
    assert [(c.name, c.role) for c in draft.contributors] == [
        ("Ines Lobo", "reporting"),
        ("Tomas Berg", "editing"),
    ]
    assert draft.credit_line == "Reporting by Ines Lobo; Editing by Tomas Berg"
    assert not any("Ines Lobo" in block.text for block in draft.body)


def test_an_editors_note_and_a_byline_after_an_update_flag_leave_the_story() -> None:
    draft = parse_text(
        "UPDATE 2-Ferry fares rise for the summer season\n\n(Adds operator comment)\n\n"
        "By Ines Lobo\n\nLISBON, Feb 2 (Reuters) - Ferry fares will rise in June.\n",
        received=RECEIVED,
    )
    assert (draft.signal, draft.source_version, draft.correction) == ("update", 3, None)
    assert draft.summary == "Ferry fares will rise in June."
    assert [(c.name, c.role) for c in draft.contributors] == [("Ines Lobo", "reporting")]


def test_a_correction_note_before_the_dateline_is_the_correction() -> None:
    from services.ingest.decide import decide

    def copy(flag: str, note: str) -> str:
        return (
            f"{flag}Ferry fares rise for the summer season\n\n{note}"
            "LISBON, Feb 2 (Reuters) - Ferry fares will rise in June, Ana Reis said.\n"
        )

    original = parse_text(copy("", ""), received=RECEIVED)
    for flag in ("CORRECTED-", ""):
        draft = parse_text(copy(flag, "(Corrects name of spokeswoman in paragraph 1)\n\n"))
        assert draft.correction == "Corrects name of spokeswoman in paragraph 1"
        assert draft.signal == "correction"
        assert draft.summary == "Ferry fares will rise in June, Ana Reis said."
        held = decide(None, original, now=RECEIVED).story
        decision = decide(held, draft, now=RECEIVED)
        assert decision.event is not None and decision.event.type == "story.corrected"


def test_one_paragraph_a_line_without_blank_lines() -> None:
    draft = parse_text(
        "Ferry fares rise for the summer season\n"
        "LISBON, Feb 2 (Reuters) - Ferry fares will rise in June, the operator said.\n"
        "Tickets bought before May keep the old price.\n"
        "Islanders said the rise was too steep.\n"
        "(Reporting by Ines Lobo; Editing by Tomas Berg)\n",
        received=RECEIVED,
    )
    assert draft.headline == "Ferry fares rise for the summer season"
    assert draft.dateline is not None and (draft.dateline.place, draft.dateline.agency) == (
        "LISBON",
        "Reuters",
    )
    assert [b.text for b in draft.body] == [
        "Ferry fares will rise in June, the operator said.",
        "Tickets bought before May keep the old price.",
        "Islanders said the rise was too steep.",
    ]
    assert draft.credit_line == "Reporting by Ines Lobo; Editing by Tomas Berg"


def test_a_hard_wrapped_paragraph_stays_one_paragraph() -> None:
    draft = parse_text(
        "Ferry fares rise for the summer season\n\n"
        "LISBON, Feb 2 (Reuters) - Ferry fares will rise in June, the\n"
        "operator said on Monday, the first rise since 2019.\n\n"
        "Tickets bought before May keep the old price, and\n"
        "season passes are not affected. By the end of the year\n"
        "a new ferry joins the fleet.\n",
        received=RECEIVED,
    )
    assert [b.text for b in draft.body] == [
        "Ferry fares will rise in June, the operator said on Monday, the first rise since 2019.",
        "Tickets bought before May keep the old price, and season passes are not affected. "
        "By the end of the year a new ferry joins the fleet.",
    ]


# --- boilerplate: whole lines only ---------------------------------------------------------------


@pytest.mark.parametrize(
    "furniture",
    [
        "Advertisement",
        "ADVERTISEMENT",
        "Read more",
        "Read more:",
        "Read more: Ferry operator names new chief",
        "Related: Island ferries face a busy summer",
        "Share this article",
        "Share on Facebook",
        "Sign up for our daily newsletter",
        "Subscribe to our newsletter for the latest news",
        "Follow us on Instagram",
        "Get the latest news delivered to your inbox",
    ],
)
def test_site_furniture_lines_are_removed(furniture: str) -> None:
    draft = parse_text(
        "Ferry fares rise for the summer season\n\n"
        f"LISBON, Feb 2 (Reuters) - Ferry fares will rise in June.\n\n{furniture}\n\n"
        "Tickets bought before May keep the old price.\n",
        received=RECEIVED,
    )
    assert [b.text for b in draft.body] == [
        "Ferry fares will rise in June.",
        "Tickets bought before May keep the old price.",
    ]


@pytest.mark.parametrize(
    "sentence",
    [
        "Advertisement spending rose 30% in the quarter, the operator said.",
        "Read more widely, the report urges ministers to act.",
        "Related: the operator said sales in Spain fell.",
        "Share prices fell 4% in early trading.",
        "Sign up for the loyalty programme rose by a third, it added.",
        "Subscribe numbers doubled after the launch, the operator said.",
        "Email alerts were sent to passengers, a spokeswoman said.",
        "Watch crews worked through the night to fix the ramp.",
    ],
)
def test_sentences_that_merely_start_with_those_words_are_kept(sentence: str) -> None:
    draft = parse_text(
        "Ferry fares rise for the summer season\n\n"
        f"LISBON, Feb 2 (Reuters) - Ferry fares will rise in June.\n\n{sentence}\n",
        received=RECEIVED,
    )
    assert [b.text for b in draft.body] == ["Ferry fares will rise in June.", sentence]


def test_the_site_name_suffix_line_is_removed_and_names_the_publisher() -> None:
    draft = parse_text(
        "Ferry fares rise for the summer season\n\n"
        "LISBON, Feb 2 (Reuters) - Ferry fares will rise in June - and again in autumn.\n\n"
        "Ferry fares rise for the summer season - Harbour Post\n",
        received=RECEIVED,
    )
    assert draft.publisher == "Harbour Post"
    assert [b.text for b in draft.body] == ["Ferry fares will rise in June - and again in autumn."]


def test_decomposed_text_is_normalised_to_nfc() -> None:
    draft = parse_text(
        "Cafe\u0301 owners in Ko\u0308ln protest\n\n"
        "KO\u0308LN, Feb 2 (dpa) - The cafe\u0301 owners protested on Monday.\n",
        received=RECEIVED,
    )
    assert draft.headline == "Café owners in Köln protest"
    assert draft.dateline is not None and draft.dateline.place == "KÖLN"
    assert draft.body[0].text == "The café owners protested on Monday."
