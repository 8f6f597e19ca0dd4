"""Each format on a small sample of our own (tests/data/formats): what maps where."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.ingest.draft import Draft
from services.ingest.formats import ParseContext, parse, sniff

DATA = Path(__file__).parents[1] / "data" / "formats"
RECEIVED = datetime(2026, 6, 1, tzinfo=UTC)


def drafts(name: str, content_type: str = "application/octet-stream") -> list[Draft]:
    return parse((DATA / name).read_bytes(), ParseContext(RECEIVED, content_type))


def people(draft: Draft) -> list[tuple[str, str, str | None]]:
    return [(c.name, c.role, c.location) for c in draft.contributors]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("nitf.xml", "nitf"),
        ("newsml_g2_message.xml", "newsml-g2"),
        ("newsml12.xml", "newsml-1.2"),
        ("ninjs1.json", "ninjs"),
        ("ninjs2.json", "ninjs"),
        ("iptc7901.txt", "iptc7901"),
        ("anpa1312.tst", "anpa1312"),
        ("feed_rss.xml", "rss"),
        ("feed_atom.xml", "atom"),
        ("jsonfeed.json", "jsonfeed"),
        ("article.html", "html"),
    ],
)
def test_each_format_is_detected_from_its_content(name: str, fmt: str) -> None:
    text = (DATA / name).read_bytes().decode("utf-8")
    assert sniff(text) == fmt
    assert all(d.format in (fmt, "rss", "atom") for d in drafts(name))


def test_nitf() -> None:
    (draft,) = drafts("nitf.xml", "application/nitf+xml")
    assert draft.headline == "Island ferry adds a dawn sailing for summer"
    assert draft.guid == "harbour-ferry-timetable" and draft.source_version == 3
    assert draft.summary == "A 6 a.m. crossing starts in June."
    assert draft.language == "en-GB"
    assert draft.agency == "AP"
    assert draft.dateline is not None
    assert (draft.dateline.place, draft.dateline.agency) == ("KIRKWALL, Scotland", "AP")
    assert draft.body[0].text.startswith("The island ferry will add")
    assert ("h2", "Fares Unchanged") in [(b.type, b.text) for b in draft.body]
    assert "“years”" in draft.body[1].text  # typographic quotes kept
    assert not any("___" in b.text or "contributed" in b.text for b in draft.body)
    assert [(p.caption, p.credit) for p in draft.photos] == [
        ("The ferry leaves the harbour at dusk, April 10, 2026.", "(AP Photo/Morag Dunnet)")
    ]
    # byline: diacritics kept, all-caps and all-lower names given their case, byttl dropped
    assert people(draft) == [
        ("Gráinne Ó Briain", "reporting", None),
        ("Jan de Vries", "reporting", None),
        ("Ewan Tait", "contributing", "Lerwick"),
        ("Morag Dunnet", "photography", None),
    ]
    assert draft.published == datetime(2026, 4, 12, 9, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "signal"), [("canceled", "kill"), ("withheld", "withhold"), ("usable", None)]
)
def test_nitf_management_status(status: str, signal: str | None) -> None:
    copy = (DATA / "nitf.xml").read_bytes().replace(b'"usable"', f'"{status}"'.encode())
    (draft,) = parse(copy, ParseContext(RECEIVED))
    assert draft.signal == signal


def test_nitf_correction_field() -> None:
    copy = (
        (DATA / "nitf.xml")
        .read_bytes()
        .replace(
            b"<date.issue",
            b'<correction info="Corrects the sailing time." id-string="c1"/><date.issue',
        )
    )
    (draft,) = parse(copy, ParseContext(RECEIVED))
    assert (draft.signal, draft.correction) == ("correction", "Corrects the sailing time.")


def test_newsml_g2_message_with_several_items() -> None:
    garden, tram = drafts("newsml_g2_message.xml")  # the picture item carries no story
    assert garden.guid == "urn:newsml:example.org:20260504:garden-show"
    assert garden.source_version == 4
    assert garden.headline == "Garden show opens with record entries"  # CORRECTED- flag out
    assert (garden.signal, garden.correction) == (
        "correction",
        "Corrects the number of gardens in paragraph 2.",
    )
    assert garden.section == "Lifestyle" and garden.language == "en-GB"
    assert garden.summary == "Forty gardens compete this year."
    assert garden.first_created == datetime(2026, 5, 4, 7, 0, tzinfo=UTC)
    assert ("h2", "JUDGING") in [(b.type, b.text) for b in garden.body]
    # creator/contributor roles kept; the source (an agency) is no person
    assert people(garden) == [
        ("Ana Lima", "reporting", None),
        ("Cy Dore", "editing", None),
        ("Bo Chen", "photography", None),
    ]
    assert garden.agency == "Reuters"
    assert tram.signal == "withhold"
    assert people(tram) == [("Dee Dunn", "reporting", None)]
    assert [b.text for b in tram.body] == [
        "Tram drivers will strike on May 20, their union said.",
        "Talks broke down last week.",
    ]


def test_newsml_g2_canceled_is_a_kill() -> None:
    copy = (DATA / "newsml_g2_message.xml").read_bytes().replace(b"stat:usable", b"stat:canceled")
    assert parse(copy, ParseContext(RECEIVED))[0].signal == "kill"


def test_newsml12() -> None:
    (draft,) = drafts("newsml12.xml", "application/vnd.iptc.newsml+xml")
    assert draft.guid == "urn:newsml:afp.com:20260301T101000Z:TX-PAR-TEST01"
    assert (draft.source_version, draft.signal) == (2, "update")
    assert draft.dateline is not None
    assert (draft.dateline.place, draft.dateline.date, draft.dateline.agency) == (
        "LYON",
        "2026-03-01",
        "AFP",
    )
    assert [b.text for b in draft.body][
        -1
    ] == "Stallholders said crowds were larger than last year."
    assert draft.contributors == []  # the desk codes "abc/de/fg" are nobody


def test_ninjs_1() -> None:
    (draft,) = drafts("ninjs1.json", "application/ninjs+json")
    assert draft.guid == "https://wire.example/items/2026-bridge-1" and draft.source_version == 2
    assert draft.summary == "Cars return to the river crossing."
    assert [b.text for b in draft.body] == [
        "The old bridge reopened on Tuesday.",
        "Repairs took a year.",
    ]
    # byline (outlet dropped), people by their relation (the mayor is the story's subject)
    assert people(draft) == [
        ("Noor Haddad", "reporting", None),
        ("Ivo Pereira", "editing", None),
        ("Lia Sousa", "photography", None),
    ]
    assert [(p.url, p.credit) for p in draft.photos] == [
        ("https://img.example/bridge.jpg", "Lia Sousa/Reuters")
    ]


def test_ninjs_2_array_cancel_and_correction() -> None:
    lake, hills = drafts("ninjs2.json")
    assert lake.headline == "Lake closes to swimmers" and lake.signal == "kill"
    assert people(lake) == [("Lena Vogt", "reporting", None)]
    assert [b.text for b in lake.body] == ["The lake is closed.", "Tests are under way."]
    assert (hills.signal, hills.correction) == ("correction", "Corrects the number of countries.")


def test_iptc7901() -> None:
    (draft,) = drafts("iptc7901.txt", "text/x-iptc7901")
    assert draft.headline == "Storm closes three airports"
    assert draft.signal == "update"
    assert draft.dateline is not None and (draft.dateline.place, draft.dateline.agency) == (
        "Hamburg",
        "dpa",
    )
    assert [b.text for b in draft.body] == [
        "A storm closed three airports in northern Germany on Tuesday, operators said.",
        "Flights are expected to resume on Wednesday.",
    ]
    # the notebook is not for publication: its credit lines are read, its text is not body
    assert people(draft) == [
        ("Jan Weber", "reporting", "Hamburg"),
        ("Eva Roth", "reporting", "Bremen"),
        ("Mia Lang", "editing", None),
    ]
    assert draft.published == datetime(2026, 3, 10, 14, 32, tzinfo=UTC)


def test_anpa1312() -> None:
    (draft,) = drafts("anpa1312.tst", "text/x-anpa1312")
    assert draft.headline == "Canal boats return to city waterways"
    assert (draft.guid, draft.source_version, draft.signal) == (
        "anpa:BC-EU--Canal-Boats",
        3,
        "update",
    )
    assert draft.body[0].text == (
        "Canal boats returned to the city's waterways on Saturday — the first time since "
        "winter, officials said."
    )
    assert draft.body[1].text == "“We missed them,” the mayor said."
    assert people(draft) == [
        ("Lotte van Dam", "reporting", None),
        ("Piet Smit", "contributing", "Utrecht"),
    ]
    assert draft.published == datetime(2026, 4, 11, 10, 12, tzinfo=UTC)


def test_rss_feed_is_one_story_per_item() -> None:
    orchard, cider = drafts("feed_rss.xml", "application/rss+xml")
    assert (orchard.guid, orchard.publisher, orchard.section) == (
        "courier-2026-0901",
        "Valley Courier",
        "Farming",
    )
    assert orchard.summary == "Apples ripened two weeks ahead."
    assert people(orchard) == [
        ("Marta Kowalska", "reporting", None),
        ("Piotr Nowak", "editing", None),
        ("Adam Zielinski", "photography", None),
    ]
    assert cider.body[0].text == "Makers expect record volumes."


def test_a_single_rss_item() -> None:
    item = (DATA / "feed_rss.xml").read_text().split("<item>")[1].split("</item>")[0]
    copy = f'<item xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/">{item}</item>'
    (draft,) = parse(copy.encode(), ParseContext(RECEIVED, "application/xml"))
    assert draft.headline == "Orchard harvest starts early"


def test_atom_feed() -> None:
    seals, lighthouse = drafts("feed_atom.xml", "application/atom+xml")
    assert seals.guid == "urn:example:coast:1" and seals.section == "Nature"
    assert people(seals) == [("Ola Berg", "reporting", None)]
    assert [b.text for b in lighthouse.body] == [
        "The lighthouse has a new coat of paint.",
        "Volunteers did the work.",
    ]


def test_json_feed() -> None:
    (draft,) = drafts("jsonfeed.json", "application/feed+json")
    assert (draft.headline, draft.guid, draft.section) == ("Rowing club turns 100", "rn-1", "Sport")


def test_html_article_page() -> None:
    (draft,) = drafts("article.html", "text/html")
    assert draft.headline == "Night trains return to the Alps"
    assert draft.publisher == "Valley Courier" and draft.agency == "AP"
    assert draft.body[0].text.startswith("Night trains returned to the Alpine routes")
    text = " ".join(b.text for b in draft.body)
    for junk in ("Share this article", "Most Read", "All rights reserved", "Home", "tracking"):
        assert junk not in text
    # the related widget's byline and photo are not the story's
    assert people(draft) == [
        ("Elena Rossi", "reporting", None),
        ("Mark O'Neill", "reporting", None),
        ("Sofia Marin", "contributing", "Milan"),
        ("Dario Bernasconi", "photography", None),
    ]


# --- fields the audit of issue #3 found untested ---------------------------------------------


@pytest.mark.parametrize(
    ("name", "content_type", "language"),
    [
        ("article.html", "text/html", "en"),
        ("ninjs1.json", "application/ninjs+json", "en"),
        ("newsml12.xml", "application/vnd.iptc.newsml+xml", "en"),
        ("nitf.xml", "application/nitf+xml", "en-GB"),
    ],
)
def test_language_of_each_format(name: str, content_type: str, language: str) -> None:
    assert drafts(name, content_type)[0].language == language


def test_language_fields_are_read_not_assumed() -> None:
    html = (DATA / "article.html").read_bytes().replace(b'lang="en"', b'lang="de"')
    assert parse(html, ParseContext(RECEIVED, "text/html"))[0].language == "de"
    ninjs = (DATA / "ninjs1.json").read_bytes().replace(b'"language": "en"', b'"language": "pt"')
    assert parse(ninjs, ParseContext(RECEIVED))[0].language == "pt"
    newsml = (DATA / "newsml12.xml").read_bytes().replace(b'FormalName="en"', b'FormalName="fr"')
    assert parse(newsml, ParseContext(RECEIVED))[0].language == "fr"


def test_newsml12_byline_credits_reporting() -> None:
    copy = (
        (DATA / "newsml12.xml")
        .read_bytes()
        .replace(b"<HeadLine>", b"<ByLine>By Claire DUBOIS and Marc Petit</ByLine><HeadLine>")
    )
    (draft,) = parse(copy, ParseContext(RECEIVED))
    assert people(draft) == [
        ("Claire Dubois", "reporting", None),
        ("Marc Petit", "reporting", None),
    ]
    assert draft.credit_line == "Reporting by Claire Dubois and Marc Petit"


@pytest.mark.parametrize(
    ("flag", "signal", "version"),
    [
        ("KILL", "kill", None),
        ("WITHDRAWAL", "kill", None),
        ("CORRECTION", "correction", None),
        ("REFILE", "update", None),
        ("2ND LEAD", "update", 3),
    ],
)
def test_iptc7901_flag_lines(flag: str, signal: str, version: int | None) -> None:
    copy = (DATA / "iptc7901.txt").read_bytes().replace(b"\x02UPDATE", b"\x02" + flag.encode())
    (draft,) = parse(copy, ParseContext(RECEIVED, "text/x-iptc7901"))
    assert (draft.signal, draft.source_version) == (signal, version)
    assert draft.headline == "Storm closes three airports"


@pytest.mark.parametrize(
    ("service", "signal", "version"),
    [
        (b"Kill", "kill", None),
        (b"Withdrawal", "kill", None),
        (b"Correction", "correction", None),
        (b"3rdLd-Writethru", "update", 4),
    ],
)
def test_anpa1312_version_words(service: bytes, signal: str, version: int | None) -> None:
    copy = (
        (DATA / "anpa1312.tst")
        .read_bytes()
        .replace(b" 2ndLd-Writethru  ", b" " + service + b"  ")
        .replace(b", 2nd Ld-Writethru", b"")
        .replace(b"^Eds: Updates with mayor comment.<\r\n", b"")
    )
    (draft,) = parse(copy, ParseContext(RECEIVED, "text/x-anpa1312"))
    assert (draft.signal, draft.source_version) == (signal, version)


def test_a_dateline_year_comes_from_the_items_own_date() -> None:
    """No year in the dateline and no dated caption: the item's own date decides (a late-December
    item dated the 30th puts ``Jan 2`` in the next year), not the day we received it."""
    copy = (
        b'<nitf><head><docdata><date.issue norm="20251230T120000Z"/></docdata></head><body>'
        b"<body.head><hedline><hl1>Harbour opens at dawn</hl1></hedline></body.head>"
        b"<body.content><p>OSLO, Jan 2 (Reuters) - The harbour opens on Friday.</p>"
        b"</body.content></body></nitf>"
    )
    (draft,) = parse(copy, ParseContext(datetime(2027, 6, 1, tzinfo=UTC)))
    assert draft.dateline is not None and draft.dateline.date == "2026-01-02"
    undated = copy.replace(b'<date.issue norm="20251230T120000Z"/>', b"")
    (received,) = parse(undated, ParseContext(datetime(2027, 6, 1, tzinfo=UTC)))
    assert received.dateline is not None and received.dateline.date == "2027-01-02"


def test_newsml_g2_login_ids_are_not_people() -> None:
    copy = (
        b'<newsItem xmlns="http://iptc.org/std/nar/2006-10-01/" guid="urn:x:1" version="1">'
        b"<contentMeta><headline>Harbour opens at dawn</headline><by>By Sandra Degenhardt</by>"
        b'<creator qcode="dpa-ad:degenhardt.sandra"><name>degenhardt.sandra</name></creator>'
        b'<contributor qcode="dpa-ad:weber.jan"><name>weber.jan</name></contributor>'
        b"</contentMeta><contentSet><inlineData>The harbour opened.</inlineData></contentSet>"
        b"</newsItem>"
    )
    (draft,) = parse(copy, ParseContext(RECEIVED))
    assert people(draft) == [("Sandra Degenhardt", "reporting", None)]


@pytest.mark.parametrize(
    "page",
    [
        "<meta charset='utf-8'><title>Night trains return</title><h1>Night trains return</h1>",
        "<head><title>Night trains return</title></head><body><h1>Night trains return</h1>",
        "<body><article><h1>Night trains return</h1>",
        "<div class='story'><h1>Night trains return</h1>",
        "<article><h1>Night trains return</h1>",
        "<p>ZURICH (AP) — x</p><h1>Night trains return</h1>",
        "<H1>Night trains return</H1>",
    ],
)
def test_html_without_a_doctype_or_html_root_is_a_page(page: str) -> None:
    from services.ingest.formats import detect

    body = (
        "<p>ZURICH (AP) — Night trains returned to the Alpine routes on Saturday after a "
        "five-year pause, rail operators said on Saturday in a statement.</p>"
        "<p>The first train left Zurich at 10 p.m. with every sleeping car booked, the "
        "operator said in a statement on its website on Saturday.</p>"
    )
    assert detect(page + body) == "html"
    assert sniff(page + body) == "html"
    (draft,) = parse((page + body).encode(), ParseContext(RECEIVED, "text/plain"))
    assert draft.format == "html" and draft.headline == "Night trains return"
