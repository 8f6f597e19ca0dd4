"""Structure-aware property tests: well-formed documents of every format whose fields hold odd
values (unicode digits, huge numbers, empty strings, nested types, impossible dates).

Random bytes rarely get past a parser's first check; these documents do, so every field reader
(versions, dates, statuses, names, roles) meets the values agencies never meant to send. Whatever
is in a field, a parser answers with drafts or our own ``ParseError``, nothing else.
"""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.formats import ParseContext, parse
from shared.errors import ParseError

PROFILE = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: strings that have broken or could break a field reader
ODD_STRINGS = st.sampled_from(
    ["²", "١٢", "३", "Ⅻ", "½", "0", "-1", "3.5", "1e9", "", " ", "9" * 30, "9" * 5000, "NaN",
     "null", "true", "2026-13-45T00:00:00Z", "20261345T996199Z", "Mon, 99 Foo 2026 99:99:99 +9999",
     "0000-00-00", "canceled", "withheld", "stat:canceled", "sig:correction", "edStat:D",
     "crol:editor", "photographer", "author", "By ", "By Ana Lima", "(Reporting by )", "UPDATE ²-",
     "BC-X--Y 9999thLd-Writethru", "a.b", "degenhardt.sandra", "(AP)", "ÖSTERÅKER (dpa) -",
     "X in", "&", "<", "]]>", "\u200b", "e\u0301", "\U0001f600"]
)  # fmt: skip
TEXT = st.one_of(ODD_STRINGS, st.text(max_size=12))
#: what goes where a number is expected (versions, leads, update numbers): often, so that every
#: run meets unicode digits and numbers too long for ``int``
NUMBERISH = st.one_of(
    st.sampled_from(
        ["²", "١٢", "३", "Ⅻ", "½", "9" * 30, "9" * 5000, "-1", "3.5", "1e9", "", " 7 "]
    ),
    TEXT,
)
#: what goes where a date is expected
DATEISH = st.one_of(
    st.sampled_from(["2026-13-45T00:00:00Z", "20261345T996199Z", "Mon, 99 Foo 2026 99:99:99 +9999",
                     "0000-00-00", "9999-12-31T23:59:59+23:59", "²⁰²⁶-01-01", "", "-1"]),
    TEXT,
)  # fmt: skip
#: JSON values of every type, nested a little
LEAF = st.one_of(
    TEXT,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
JSON_VALUE = st.recursive(
    LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["name", "value", "role", "rel", "uri", "type", "href"]), inner, max_size=3)
    ),
    max_leaves=6,
)  # fmt: skip

NINJS_FIELDS = ["uri", "guid", "headline", "headlines", "version", "versioncreated", "firstcreated",
                "pubstatus", "body_text", "body_html", "body_xhtml", "bodies", "description_text",
                "descriptions", "byline", "by", "people", "authors", "person", "located",
                "copyrightholder", "provider", "source", "service", "language", "altids",
                "associations", "signals", "signal", "correction", "correctionnote", "ednote",
                "type"]  # fmt: skip
FEED_FIELDS = ["id", "url", "title", "content_html", "content_text", "summary", "image",
               "date_published", "date_modified", "authors", "author", "tags"]  # fmt: skip


def check(data: bytes, content_type: str = "application/octet-stream") -> None:
    try:
        drafts = parse(data, ParseContext(content_type=content_type))
    except ParseError:
        return
    assert drafts and all(d.headline for d in drafts)
    for draft in drafts:
        assert draft.source_version is None or 0 <= draft.source_version < 10**18


def _allowed(value: str) -> str:
    """``value`` without the characters XML forbids (those make the whole document a
    ``ParseError``, not a field value)."""
    return "".join(
        ch
        for ch in value
        if ch in "\t\n\r"
        or (" " <= ch <= "\ud7ff")
        or ("\ue000" <= ch <= "\ufffd")
        or ch > "\uffff"
    )


def xml_text(value: str) -> str:
    return escape(_allowed(value))


def attr(value: str) -> str:
    return quoteattr(_allowed(value))


@PROFILE
@given(
    st.fixed_dictionaries(
        {
            "version": st.one_of(NUMBERISH, JSON_VALUE),
            "versioncreated": st.one_of(DATEISH, JSON_VALUE),
        }
    ),
    st.dictionaries(st.sampled_from(NINJS_FIELDS), JSON_VALUE, max_size=8),
    st.booleans(),
)
def test_ninjs_fields_hold_anything(
    numbered: dict[str, Any], fields: dict[str, Any], envelope: bool
) -> None:
    item = {"uri": "urn:x:1", "headline": "Harbour opens at dawn", "body_text": "Body."}
    item.update(numbered)
    item.update(fields)
    document: Any = {"data": {"item": item}} if envelope else item
    check(json.dumps(document).encode(), "application/json")
    check(json.dumps(document).encode(), "application/ninjs+json")


@PROFILE
@given(st.lists(st.dictionaries(st.sampled_from(FEED_FIELDS), JSON_VALUE, max_size=6), max_size=3))
def test_json_feed_fields_hold_anything(items: list[dict[str, Any]]) -> None:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Feed",
        "items": [{"id": "1", "title": "Harbour opens at dawn", **item} for item in items],
    }
    check(json.dumps(document).encode())


NITF = """<?xml version="1.0"?><nitf baselang={lang}><head><title>{title}</title>
<docdata management-status={status}><du-key key={key} version={version}/><doc-id id-string={key}/>
<date.issue norm={date}/><correction info={note}/><doc.copyright holder={holder}/></docdata>
<pubdata date.publication={date2}/></head><body><body.head><hedline><hl1>Harbour opens {title}</hl1>
</hedline><byline>{by}<byttl>{title}</byttl></byline><dateline>{dateline}</dateline>
<distributor>{holder_text}</distributor><abstract>{title}</abstract></body.head><body.content>
<p>{dateline} {text}</p><hl2>{title}</hl2><p>{by}</p><media media-type="image"><media-reference source={key}/>
<media-caption>{text}</media-caption><media-producer>{by}</media-producer></media></body.content></body></nitf>"""

G2 = """<newsMessage xmlns="http://iptc.org/std/nar/2006-10-01/"><itemSet>
<newsItem guid={key} version={version} xml:lang={lang}><itemMeta><itemClass qcode={qcode}/>
<provider qcode={qcode} literal={holder}/><versionCreated>{date}</versionCreated>
<firstCreated>{date2}</firstCreated><pubStatus qcode={status}/><signal qcode={qcode}/>
<edNote role={role}>{note_text}</edNote><memberOf><name>{title}</name></memberOf></itemMeta>
<contentMeta><headline>Harbour opens {title}</headline><by>{by}</by><dateline>{dateline}</dateline>
<located><name>{title}</name></located><creditline>{holder_text}</creditline>
<creator role={role} type={qcode} literal={holder}><name>{by}</name></creator>
<contributor role={role} qcode={qcode}><name>{by}</name></contributor>
<description role={role}>{text}</description><language tag={lang}/></contentMeta>
<contentSet><inlineData>{dateline} {text}</inlineData></contentSet></newsItem></itemSet></newsMessage>"""

NEWSML12 = """<NewsML><NewsItem xml:lang={lang}><Identification><NewsIdentifier>
<ProviderId>{title}</ProviderId><NewsItemId>{text}</NewsItemId>
<RevisionId Update={qcode}>{version_text}</RevisionId><PublicIdentifier>{text}</PublicIdentifier>
</NewsIdentifier></Identification><NewsManagement><FirstCreated>{date_text}</FirstCreated>
<ThisRevisionCreated>{date_text}</ThisRevisionCreated><Status FormalName={status}/></NewsManagement>
<NewsComponent><NewsLines><HeadLine>Harbour opens {title}</HeadLine><ByLine>{by}</ByLine>
<DateLine>{dateline}</DateLine><CreditLine>{holder_text}</CreditLine></NewsLines>
<AdministrativeMetadata><Provider><Party FormalName={holder}/></Provider></AdministrativeMetadata>
<DescriptiveMetadata><Language FormalName={lang}/></DescriptiveMetadata><ContentItem>
<MediaType FormalName="Text"/><DataContent><nitf><body><body.content><p>{dateline} {text}</p>
<p>{by}</p></body.content></body></nitf></DataContent></ContentItem></NewsComponent></NewsItem></NewsML>"""

RSS = """<rss xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/"
xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>{title}</title><item>
<title>Harbour opens {title}</title><guid>{text}</guid><link>{text}</link><pubDate>{date_text}</pubDate>
<dc:creator>{by}</dc:creator><category>{title}</category><description>{text}</description>
<content:encoded>{dateline} {text}</content:encoded><media:content url={key} type={qcode}>
<media:description>{text}</media:description><media:credit>{by}</media:credit></media:content>
</item></channel></rss>"""

ATOM = """<feed xmlns="http://www.w3.org/2005/Atom"><title>{title}</title><entry><id>{text}</id>
<title>Harbour opens {title}</title><updated>{date_text}</updated><published>{date_text}</published>
<author><name>{by}</name></author><category term={role} label={title_attr}/>
<link href={key}/><content type={qcode}>{dateline} {text}</content><summary>{text}</summary>
</entry></feed>"""

TEMPLATES = {"nitf": NITF, "newsml-g2": G2, "newsml-1.2": NEWSML12, "rss": RSS, "atom": ATOM}
SLOTS = ["lang", "title", "status", "key", "version", "date", "date2", "note", "holder", "by",
         "dateline", "text", "qcode", "role"]  # fmt: skip


@PROFILE
@given(
    st.sampled_from(sorted(TEMPLATES)),
    st.fixed_dictionaries(
        {**dict.fromkeys(SLOTS, TEXT), "version": NUMBERISH, "date": DATEISH, "date2": DATEISH}
    ),
)
def test_xml_fields_hold_anything(fmt: str, values: dict[str, str]) -> None:
    filled = {slot: attr(value) for slot, value in values.items()}
    filled.update(
        title_attr=attr(values["title"]),
        title=xml_text(values["title"]),
        by=xml_text(values["by"]),
        dateline=xml_text(values["dateline"]),
        text=xml_text(values["text"]),
        holder_text=xml_text(values["holder"]),
        note_text=xml_text(values["note"]),
        version_text=xml_text(values["version"]),
        date_text=xml_text(values["date"]),
    )
    check(TEMPLATES[fmt].format(**filled).encode("utf-8"))


@PROFILE
@given(
    st.fixed_dictionaries(
        {"flag": TEXT, "version": NUMBERISH, "by": TEXT, "text": TEXT, "date": DATEISH}
    )
)
def test_teletype_and_text_fields_hold_anything(values: dict[str, str]) -> None:
    v = {k: value.replace("\x02", "").replace("\x03", "") for k, value in values.items()}
    anpa = (
        f"\x16\x16\x01A1234\r\nr i\x13\x11 BC-EU--Canal-Boats {v['version']}thLd-Writethru   "
        f"04-11 0400\r\n\x02^BC-EU--Canal-Boats, {v['flag']},400<\r\n^Canal boats return "
        f"{v['text']}<\r\n^{v['flag']}<\r\n^By {v['by']}=\r\n\t   AMSTERDAM (AP) _ {v['text']}\r\n"
        f"\x03AP-WF-{v['date']}-26 1012GMT<\r\n"
    )
    iptc = (
        f"\x01abc001 3 i 120  dpa 0001\r\n\r\nGermany/weather/\r\n\x02{v['version']}TH LEAD\r\n{v['flag']}\r\n"
        f"Storm closes airports {v['text']} =\r\nBy {v['by']} =\r\n\r\n   Hamburg (dpa) - {v['text']}\r\n"
        f"\r\n# dpa NOTEBOOK\r\n- Reporting by: {v['by']}\r\n\x03{v['date']} GMT Mar {v['version']}\r\n"
    )
    text = (
        f"UPDATE {v['version']}-{v['flag']}-Harbour opens {v['text']}\n\n({v['text']})\n"
        f"By {v['by']}\n"
        f"OSLO, {v['date']} (Reuters) - {v['text']}\n(Reporting by {v['by']})\n"
    )
    check(anpa.encode("utf-8"), "text/x-anpa1312")
    check(iptc.encode("utf-8"), "text/x-iptc7901")
    check(text.encode("utf-8"), "text/plain")
