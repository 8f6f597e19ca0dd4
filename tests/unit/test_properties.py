"""Property tests: whatever the input, a parser raises only our own ``ParseError``."""

from __future__ import annotations

from pathlib import Path

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
