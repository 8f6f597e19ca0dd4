"""Property tests: whatever the input, a parser raises only our own ``ParseError``."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.attribution import parse_byline, parse_credit_line
from services.ingest.formats import FORMATS, MEDIA_TYPES, ParseContext, parse
from services.ingest.photos import photographers
from shared.errors import ParseError

DATA = Path(__file__).parents[1] / "data" / "formats"
SAMPLES = sorted(p.read_bytes() for p in DATA.iterdir())
PROFILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# fragments that steer random input into every parser's interesting paths
FRAGMENTS = st.sampled_from(
    [b"<?xml version='1.0'?>", b"<nitf>", b"<newsMessage>", b"<newsItem guid='x'>", b"<NewsML>",
     b"<rss><channel><item><title>", b"<feed><entry>", b"<html><body><h1>", b"</p>", b"<p>",
     b"{", b"}", b'"uri": "u", "headline": ', b"[", b"\x01", b"\x02", b"\x03", b"\x16\x16\x01",
     b"^By X=", b"\t   ", b"BERLIN (dpa) - ", b"(Reporting by ", b"; Editing by ", b"\n\n",
     b"\xff\xfe", b"\xe9", b"&amp;", b"<!DOCTYPE x [<!ENTITY a 'b'>]>", b"<![CDATA[", b"]]>",
     b"By Ana Lima", b"(AP Photo/", b"contributed to this report.", b"\x00"]
)  # fmt: skip


def check(data: bytes, ctx: ParseContext) -> None:
    try:
        drafts = parse(data, ctx)
    except ParseError:
        return
    assert drafts and all(d.headline for d in drafts)


@PROFILE
@given(st.binary(max_size=2000), st.sampled_from(sorted(MEDIA_TYPES)))
def test_random_bytes_under_any_content_type(data: bytes, content_type: str) -> None:
    check(data, ParseContext(content_type=content_type))


@PROFILE
@given(
    st.lists(st.one_of(FRAGMENTS, st.binary(max_size=40)), max_size=30), st.sampled_from(FORMATS)
)
def test_wire_shaped_fragments_under_any_forced_format(parts: list[bytes], fmt: str) -> None:
    check(b"".join(parts), ParseContext(format=fmt))


@PROFILE
@given(st.sampled_from(SAMPLES), st.data())
def test_mutated_samples(sample: bytes, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(sample)))
    end = data.draw(st.integers(start, min(len(sample), start + 200)))
    junk = data.draw(st.one_of(FRAGMENTS, st.binary(max_size=20)))
    check(sample[:start] + junk + sample[end:], ParseContext())


@PROFILE
@given(st.text(max_size=400))
def test_the_attribution_readers_never_raise(line: str) -> None:
    result = parse_credit_line(line)
    assert result.parsed or result.contributors == ()
    parse_byline(line)
    photographers(line, own_only=True)


@PROFILE
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["Reporting by", "; Editing by", " and ", ", ", " in ", "(", ")",
                             "Ana Lima", "BO CHEN", "al-", "van der", "Kyiv", "contributed",
                             "/Pool via REUTERS", "To contact the reporter on this story:"]),
            st.text(max_size=8),
        ),
        max_size=20,
    )
)  # fmt: skip
def test_credit_shaped_text_never_raises(parts: list[str]) -> None:
    parse_credit_line("".join(parts))


# --- issue #7: near-valid input for every parser, the normaliser, and the way out --------------
#
# Above, random bytes and fragments reach every parser, and samples are mutated and detected.
# Below: each sample mutated *under its own format* (so the parser that reads it goes deep),
# well-formed documents whose values are arbitrary (text, attributes, JSON of any type where a
# field is expected), the one normaliser (with its attribution precedence chain) fed arbitrary
# fields, and whatever parses carried on through versioning and all three feed formats.

SAMPLE_FORMATS = {
    "anpa1312.tst": "anpa1312",
    "article.html": "html",
    "feed_atom.xml": "atom",
    "feed_rss.xml": "rss",
    "iptc7901.txt": "iptc7901",
    "jsonfeed.json": "jsonfeed",
    "newsml12.xml": "newsml-1.2",
    "newsml_g2_message.xml": "newsml-g2",
    "ninjs1.json": "ninjs",
    "ninjs2.json": "ninjs",
    "nitf.xml": "nitf",
}
JSON_SAMPLES = sorted(name for name in SAMPLE_FORMATS if name.endswith(".json"))
XML_SAMPLES = sorted(name for name in SAMPLE_FORMATS if name.endswith(".xml"))
NEAR = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXTS = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["", " ", "By ", "(Reporting by A; Editing by B)", "REUTERS/X", "\u2028",
                     "OSLO (Reuters) - ", "<script>x</script>", "&amp;", "\x00", "UPDATE 2-"]),
)  # fmt: skip
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | TEXTS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXTS, inner, max_size=3),
    max_leaves=8,
)


def test_every_format_has_a_sample_here() -> None:
    assert set(SAMPLE_FORMATS) == {p.name for p in DATA.iterdir()}
    assert set(SAMPLE_FORMATS.values()) == set(FORMATS) - {"text"}  # text: every other sample


@NEAR
@given(st.sampled_from(sorted(SAMPLE_FORMATS)), st.data())
def test_each_sample_mutated_under_its_own_format(name: str, data: st.DataObject) -> None:
    sample = (DATA / name).read_bytes()
    for _ in range(data.draw(st.integers(1, 3))):
        start = data.draw(st.integers(0, len(sample)))
        end = data.draw(st.integers(start, min(len(sample), start + 80)))
        junk = data.draw(st.one_of(FRAGMENTS, st.binary(max_size=12), st.just(b"")))
        sample = sample[:start] + junk + sample[end:]
    check(sample, ParseContext(format=SAMPLE_FORMATS[name]))
    check(sample, ParseContext(format="text"))


def _walk_replace(value: object, draw: st.DataObject, path: str = "") -> object:
    """The same document with some values swapped for arbitrary JSON (type confusion)."""
    if draw.draw(st.integers(0, 5), label=f"swap {path}") == 0:
        return draw.draw(JSON_VALUES, label=f"value {path}")
    if isinstance(value, dict):
        return {k: _walk_replace(v, draw, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_walk_replace(v, draw, f"{path}[]") for v in value]
    return value


@NEAR
@given(st.sampled_from(JSON_SAMPLES), st.data())
def test_json_documents_with_values_of_any_type(name: str, data: st.DataObject) -> None:
    import json

    document = _walk_replace(json.loads((DATA / name).read_bytes()), data)
    body = json.dumps(document, allow_nan=True).encode()
    check(body, ParseContext(format=SAMPLE_FORMATS[name]))
    check(body, ParseContext(content_type="application/json"))


@NEAR
@given(st.sampled_from(XML_SAMPLES), st.data())
def test_xml_documents_with_arbitrary_text_and_attributes(name: str, data: st.DataObject) -> None:
    from lxml import etree

    root = etree.fromstring((DATA / name).read_bytes(), etree.XMLParser(resolve_entities=False))
    xml_text = st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufffe\uffff"),
        max_size=40,
    ).map(lambda s: "".join(ch for ch in s if ch in "\t\n\r" or ord(ch) >= 32))
    for element in root.iter():
        if not isinstance(element.tag, str) or data.draw(st.integers(0, 3)) != 0:
            continue
        element.text = data.draw(xml_text)
        for attribute in list(element.attrib):
            if data.draw(st.booleans()):
                element.set(attribute, data.draw(xml_text))
    check(etree.tostring(root, encoding="utf-8"), ParseContext(format=SAMPLE_FORMATS[name]))


@NEAR
@given(
    headline=TEXTS,
    blocks=st.lists(st.tuples(st.sampled_from(["p", "h2", "x"]), TEXTS), max_size=6),
    byline=st.none() | TEXTS,
    credit_lines=st.lists(TEXTS, max_size=3),
    dateline=st.none() | TEXTS,
    agency=st.none() | TEXTS,
    section=st.none() | TEXTS,
    captions=st.lists(st.tuples(st.none() | TEXTS, TEXTS, TEXTS), max_size=3),
    page=st.booleans(),
)
def test_the_normaliser_takes_any_fields(
    headline: str,
    blocks: list[tuple[str, str]],
    byline: str | None,
    credit_lines: list[str],
    dateline: str | None,
    agency: str | None,
    section: str | None,
    captions: list[tuple[str | None, str, str]],
    page: bool,
) -> None:
    """``normalise``: dateline, byline, credit lines, photos and agency by the precedence chain."""
    from datetime import UTC, datetime

    from services.ingest.assemble import Copy, normalise
    from shared.models import Photo

    copy = Copy(
        format="text",
        headline=headline,
        blocks=blocks,
        byline=byline,
        credit_lines=credit_lines,
        dateline=dateline,
        agency=agency,
        default_agency=agency,
        section=section,
        photos=[
            Photo(url=url, caption=caption, credit=credit) for url, caption, credit in captions
        ],
        page=page,
    )
    try:
        draft = normalise(copy, datetime(2026, 3, 4, tzinfo=UTC))
    except ParseError:
        return
    assert draft.credit_line is None or draft.credit_line.strip() == draft.credit_line


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(SAMPLE_FORMATS)), st.data())
def test_whatever_parses_is_versioned_and_rendered_in_every_format(
    name: str, data: st.DataObject
) -> None:
    """Past the parser: a draft becomes a story and an entry of RSS, Atom and JSON Feed."""
    from datetime import UTC, datetime

    from services.ingest.decide import decide
    from services.render.documents import render_document
    from services.render.feeds import FeedSpec

    sample = (DATA / name).read_bytes()
    start = data.draw(st.integers(0, len(sample)))
    junk = data.draw(
        st.one_of(FRAGMENTS, st.binary(max_size=12), st.text(max_size=12).map(str.encode))
    )
    try:
        drafts = parse(sample[:start] + junk + sample[start:], ParseContext())
    except ParseError:
        return
    now = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    stories = [s for d in drafts if (s := decide(None, d, now=now, wire_id="wire_p").story)]
    spec = FeedSpec(name="all", title="All", description="All", base_url="http://feeds.test")
    rendered = render_document(spec, stories, max_bytes=200_000)
    assert set(rendered) == {"rss", "atom", "json"}


def test_found_by_hypothesis_a_content_type_that_is_not_a_string() -> None:
    body = b'{"uri": "u", "headline": "Hill race", "bodies": [{"contenttype": true, "value": "x"}]}'
    [draft] = parse(body, ParseContext(format="ninjs"))
    assert draft.headline == "Hill race"


def test_found_by_hypothesis_a_headline_that_is_only_a_flag() -> None:
    body = b'{"uri": "u", "headlines": [{"role": "main", "value": "UPDATE-"}], "body_text": "x"}'
    with pytest.raises(ParseError, match="headline"):
        parse(body, ParseContext(format="ninjs"))
