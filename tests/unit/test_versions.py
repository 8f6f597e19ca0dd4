"""Identity and order across formats: one GUID is one story whatever the content infers, and an
older copy arriving after a newer one changes nothing, in every format family.

Each test builds its own small copies; ``play`` runs them through the pure pipeline in arrival
order the way the ingest task does (the latest version and every version held passed to decide).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from services.ingest.decide import decide, story_id_for
from services.ingest.draft import Draft
from services.ingest.formats import ParseContext, parse
from shared.models import Story

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def one(data: bytes, content_type: str = "application/octet-stream") -> Draft:
    (draft,) = parse(data, ParseContext(received=NOW, content_type=content_type))
    return draft


def play(*drafts: Draft) -> tuple[list[str], list[Story]]:
    """Outcomes of the drafts in arrival order, and the versions stored (all of one story)."""
    held: list[Story] = []
    outcomes: list[str] = []
    for draft in drafts:
        decision = decide(held[-1] if held else None, draft, now=NOW, versions=held)
        outcomes.append(decision.outcome)
        if decision.story is not None:
            held.append(decision.story)
    return outcomes, held


# --- identity ----------------------------------------------------------------------------------


def ninjs(**fields: object) -> bytes:
    item = {"uri": "urn:wire:harbour-1", "headline": "Harbour opens at dawn"}
    item["body_text"] = "OSLO (Reuters) - The harbour opened on Monday."
    return json.dumps({**item, **fields}).encode()


def test_a_ninjs_uri_is_one_story_with_or_without_a_copyright_holder() -> None:
    plain = one(ninjs())
    held = one(ninjs(copyrightholder="Reuters", body_text="OSLO - The harbour opened."))
    assert plain.agency == "Reuters" and held.agency == "Reuters"
    other = one(ninjs(copyrightholder="Agence France-Presse"))
    assert story_id_for(plain) == story_id_for(held) == story_id_for(other)


def rss(title: str, body: str, guid: str = "courier-42", date: str = "") -> bytes:
    pub = f"<pubDate>{date}</pubDate>" if date else ""
    return (
        f"<rss><channel><title>Courier</title><item><title>{title}</title><guid>{guid}</guid>"
        f"{pub}<description>{body}</description></item></channel></rss>"
    ).encode()


def test_an_rss_guid_is_one_story_when_a_later_version_drops_the_dateline() -> None:
    first = one(rss("Harbour opens at dawn", "OSLO (AP) — The harbour opened."))
    second = one(rss("Harbour opens at dawn", "The harbour opened on Monday."))
    killed = one(rss("WITHDRAWN-Harbour opens at dawn", "Please withdraw this story."))
    assert first.agency == "AP" and second.agency is None
    assert story_id_for(first) == story_id_for(second) == story_id_for(killed)
    outcomes, versions = play(first, second, killed)
    assert outcomes == ["new", "update", "kill"]
    assert versions[-1].status == "withdrawn"


def g2(provider: str, creditline: str = "", version: int = 1) -> bytes:
    return (
        f'<newsItem xmlns="http://iptc.org/std/nar/2006-10-01/" guid="urn:x:item-7" '
        f'version="{version}"><itemMeta><provider literal="{provider}"/></itemMeta><contentMeta>'
        f"<headline>Harbour opens at dawn</headline><creditline>{creditline}</creditline>"
        "</contentMeta><contentSet><inlineData>The harbour opened.</inlineData></contentSet>"
        "</newsItem>"
    ).encode()


def test_a_structured_provider_scopes_a_guid_and_an_inferred_agency_does_not() -> None:
    plain = one(g2("reuters.com"))
    credited = one(g2("reuters.com", creditline="Reuters", version=2))
    assert story_id_for(plain) == story_id_for(credited)
    assert story_id_for(one(g2("other.example"))) != story_id_for(plain)


def test_a_nitf_registering_source_scopes_its_ids() -> None:
    def nitf(regsrc: str, holder: str) -> bytes:
        return (
            f'<nitf><head><docdata><doc-id regsrc="{regsrc}" id-string="d-1"/>'
            f'<doc.copyright holder="{holder}"/></docdata></head><body><body.head><hedline>'
            "<hl1>Harbour opens at dawn</hl1></hedline></body.head><body.content>"
            "<p>The harbour opened.</p></body.content></body></nitf>"
        ).encode()

    assert story_id_for(one(nitf("AP", "AP"))) == story_id_for(one(nitf("AP", "")))
    assert story_id_for(one(nitf("AP", "AP"))) != story_id_for(one(nitf("NTB", "AP")))


# --- an older copy after a newer one -------------------------------------------------------------


def text(flag: str = "", extra: str = "") -> Draft:
    return one(
        (
            f"{flag}Keepers return to island after storm season\n\n"
            f"OSLO, March 4 (Reuters) - Two keepers returned.{extra}\n"
        ).encode(),
        "text/plain",
    )


def test_text_the_first_version_again_after_an_update_changes_nothing() -> None:
    outcomes, versions = play(text(), text("UPDATE 2-", " More detail."), text())
    assert outcomes == ["new", "update", "duplicate"]
    assert versions[-1].body[0].text == "Two keepers returned. More detail."


def test_text_an_edited_first_version_after_an_update_is_stale() -> None:
    outcomes, _ = play(text(), text("UPDATE 2-", " More."), text(extra=" Edited."))
    assert outcomes == ["new", "update", "stale"]


def test_text_a_correction_or_kill_without_a_number_still_counts() -> None:
    outcomes, _ = play(
        text("UPDATE 1-", " More."),
        text("CORRECTED-", " More, corrected."),
        text("KILL-", " Withdrawn."),
    )
    assert outcomes == ["new", "correction", "kill"]


def test_a_refile_with_identical_text_is_a_duplicate() -> None:
    outcomes, versions = play(text(), text("REFILE-"), text("REFILE-UPDATE 1-"))
    assert outcomes == ["new", "duplicate", "duplicate"]
    assert len(versions) == 1
    changed = play(text(), text("REFILE-", " Fixed a typo."))[0]
    assert changed == ["new", "update"]


def anpa(lead: str, text_: str, tag: str) -> bytes:
    service = f" {lead}" if lead else ""
    return (
        f"\x16\x16\x01A1234\r\nr i\x13\x11 BC-EU--Canal-Boats{service}   04-11 0400\r\n"
        f"\x02^BC-EU--Canal-Boats,400<\r\n^Canal boats return to city waterways<\r\n"
        f"\t   AMSTERDAM (AP) _ {text_}\r\n\x03AP-WF-04-11-26 {tag}GMT<\r\n"
    ).encode()


def test_anpa_a_first_take_after_a_second_lead_is_stale() -> None:
    first = one(anpa("", "Boats returned.", "0900"))
    second = one(anpa("2ndLd-Writethru", "Boats returned, officials said.", "1012"))
    assert (first.source_version, second.source_version) == (None, 3)
    assert story_id_for(first) == story_id_for(second)
    assert play(second, first)[0] == ["new", "stale"]
    assert play(first, second)[0] == ["new", "update"]


def iptc(flag: str, text_: str, time: str) -> bytes:
    flag_line = f"{flag}\r\n" if flag else ""
    return (
        f"\x01abc001 3 i 120  dpa 0001\r\n\r\nGermany/weather/\r\n\x02{flag_line}"
        f"Storm closes three airports =\r\n\r\n   Hamburg (dpa) - {text_}\r\n\r\n"
        f"\x03{time} GMT Mar 10\r\n"
    ).encode()


def test_iptc7901_the_plain_take_after_a_second_lead_is_stale() -> None:
    first = one(iptc("", "A storm closed airports.", "101000"))
    lead = one(iptc("2ND LEAD", "A storm closed three airports.", "101200"))
    assert (first.source_version, lead.source_version, lead.signal) == (None, 3, "update")
    assert play(lead, first)[0] == ["new", "stale"]
    assert play(first, lead)[0] == ["new", "update"]


def g2_version(version: int, created: str, body: str) -> bytes:
    return (
        f'<newsItem xmlns="http://iptc.org/std/nar/2006-10-01/" guid="urn:x:g2" version="{version}">'
        f"<itemMeta><versionCreated>{created}</versionCreated></itemMeta><contentMeta>"
        f"<headline>Harbour opens at dawn</headline></contentMeta><contentSet><inlineData>{body}"
        "</inlineData></contentSet></newsItem>"
    ).encode()


def test_newsml_g2_an_older_version_or_date_is_stale() -> None:
    v2 = one(g2_version(2, "2026-03-04T10:00:00Z", "Second."))
    v1 = one(g2_version(1, "2026-03-04T11:00:00Z", "First."))
    assert play(v2, v1)[0] == ["new", "stale"]
    same_number_older = one(g2_version(2, "2026-03-04T09:00:00Z", "Second, earlier."))
    assert play(v2, same_number_older)[0] == ["new", "stale"]
    later = one(g2_version(2, "2026-03-04T12:00:00Z", "Second, edited."))
    assert play(v2, later)[0] == ["new", "update"]


def test_newsml12_an_older_revision_is_stale() -> None:
    def item(revision: int, body: str) -> bytes:
        return (
            "<NewsML><NewsItem><Identification><NewsIdentifier><ProviderId>afp.com</ProviderId>"
            f"<NewsItemId>TX-1</NewsItemId><RevisionId>{revision}</RevisionId></NewsIdentifier>"
            "</Identification><NewsComponent><NewsLines><HeadLine>Harbour opens at dawn</HeadLine>"
            "</NewsLines><ContentItem><MediaType FormalName='Text'/><DataContent><nitf><body>"
            f"<body.content><p>{body}</p></body.content></body></nitf></DataContent></ContentItem>"
            "</NewsComponent></NewsItem></NewsML>"
        ).encode()

    assert play(one(item(3, "Third.")), one(item(2, "Second.")))[0] == ["new", "stale"]


def test_ninjs_an_older_version_or_versioncreated_is_stale() -> None:
    newer = one(ninjs(version="4", versioncreated="2026-03-04T10:00:00Z"))
    older = one(ninjs(version="3", body_text="Older text.", versioncreated="2026-03-04T11:00Z"))
    assert play(newer, older)[0] == ["new", "stale"]
    dated = one(ninjs(versioncreated="2026-03-04T10:00:00Z"))
    earlier = one(ninjs(versioncreated="2026-03-04T08:00:00Z", body_text="Earlier."))
    assert play(dated, earlier)[0] == ["new", "stale"]


def test_nitf_an_older_issue_date_is_stale() -> None:
    def nitf(norm: str, body: str) -> bytes:
        return (
            f'<nitf><head><docdata><du-key key="k-1"/><date.issue norm="{norm}"/></docdata>'
            "</head><body><body.head><hedline><hl1>Harbour opens at dawn</hl1></hedline>"
            f"</body.head><body.content><p>{body}</p></body.content></body></nitf>"
        ).encode()

    newer, older = one(nitf("20260304T100000Z", "New.")), one(nitf("20260304T080000Z", "Old."))
    assert play(newer, older)[0] == ["new", "stale"]


@pytest.mark.parametrize("fmt", ["rss", "atom", "jsonfeed"])
def test_feeds_an_item_with_an_older_date_is_stale(fmt: str) -> None:
    def entry(when: datetime, body: str) -> bytes:
        if fmt == "rss":
            return rss(
                "Harbour opens at dawn", body, date=when.strftime("%a, %d %b %Y %H:%M:%S +0000")
            )
        if fmt == "atom":
            return (
                '<entry xmlns="http://www.w3.org/2005/Atom"><id>urn:x:e1</id>'
                f"<title>Harbour opens at dawn</title><updated>{when.isoformat()}</updated>"
                f"<content>{body}</content></entry>"
            ).encode()
        item = {"id": "e1", "title": "Harbour opens at dawn", "content_text": body}
        item["date_modified"] = when.isoformat()
        return json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": [item]}).encode()

    newer = one(entry(datetime(2026, 3, 4, 10, tzinfo=UTC), "New."))
    older = one(entry(datetime(2026, 3, 4, 8, tzinfo=UTC), "Old."))
    assert newer.format == older.format == fmt
    assert play(newer, older)[0] == ["new", "stale"]
    assert play(older, newer)[0] == ["new", "update"]


def test_going_back_to_earlier_wording_needs_an_explicitly_newer_copy() -> None:
    a1 = one(g2_version(1, "2026-03-04T10:00:00Z", "Wording A."))
    b2 = one(g2_version(2, "2026-03-04T11:00:00Z", "Wording B."))
    a3 = one(g2_version(3, "2026-03-04T12:00:00Z", "Wording A."))
    outcomes, versions = play(a1, b2, a1, a3)
    assert outcomes == ["new", "update", "duplicate", "update"]
    assert [v.body[0].text for v in versions] == ["Wording A.", "Wording B.", "Wording A."]
