from __future__ import annotations

import pytest

from services.ingest.decoding import decode
from services.ingest.formats import ParseContext, detect, format_for_media_type, parse
from shared.errors import ParseError, UnsupportedMediaType


@pytest.mark.parametrize(
    ("content_type", "fmt"),
    [
        ("text/plain", "auto"),
        ("text/plain; charset=utf-8", "auto"),
        ("", "auto"),
        ("application/octet-stream", "auto"),
        ("application/nitf+xml", "nitf"),
        ("TEXT/HTML", "html"),
    ],
)
def test_media_types(content_type: str, fmt: str) -> None:
    assert format_for_media_type(content_type) == fmt


def test_unknown_media_type_is_415() -> None:
    with pytest.raises(UnsupportedMediaType) as info:
        format_for_media_type("image/png")
    assert info.value.status == 415
    assert "image/png" in info.value.detail


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ('{"a": 1}', "json"),
        ("<?xml version='1.0'?><nitf/>", "xml"),
        ("<!DOCTYPE html><html><body>x</body></html>", "html"),
        ("Headline\n\nBody", "text"),
    ],
)
def test_detect(text: str, fmt: str) -> None:
    assert detect(text) == fmt


def test_decode_declared_and_detected_charsets() -> None:
    assert decode("Zoë".encode("latin-1"), "text/plain; charset=latin-1") == "Zoë"
    assert decode("\ufeffHello".encode()) == "Hello"
    text = "The café on the corner served crème brûlée to the naïve inspectors of the façade. " * 3
    assert decode(text.encode("cp1252")) == text


def test_bytes_invalid_in_their_declared_charset_are_a_parse_error() -> None:
    with pytest.raises(ParseError) as info:
        decode(b"abc\xff", "text/plain; charset=utf-8")
    assert "byte 3" in info.value.detail


def test_parse_plain_text_end_to_end() -> None:
    drafts = parse(b"A headline that is long enough\n\nBody text here.", ParseContext())
    assert [d.headline for d in drafts] == ["A headline that is long enough"]


def test_xml_of_no_known_vocabulary_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse(b"<?xml version='1.0'?><unknown-root/>", ParseContext(content_type="application/xml"))


def test_a_content_type_that_names_a_format_wins_over_the_content() -> None:
    nitf = b"<nitf><body><body.head><hedline><hl1>Harbour opens at dawn</hl1></hedline></body.head></body></nitf>"
    assert parse(nitf, ParseContext(content_type="application/octet-stream"))[0].format == "nitf"
    with pytest.raises(ParseError):
        # named as ninjs, it is read as ninjs (and is not JSON at all)
        parse(nitf, ParseContext(content_type="application/ninjs+json"))
    as_text = parse(
        b"Harbour opens at dawn today\n\nThe harbour opened.",
        ParseContext(content_type="text/x-wire"),
    )
    assert as_text[0].format == "text"


def test_generic_types_detect_each_family() -> None:
    from services.ingest.formats import sniff

    assert sniff('{"version": "https://jsonfeed.org/version/1.1", "items": []}') == "jsonfeed"
    assert sniff("<!-- c --><!DOCTYPE nitf SYSTEM 'x.dtd'><nitf/>") == "nitf"
    assert (
        sniff("<ns0:newsMessage xmlns:ns0='http://iptc.org/std/nar/2006-10-01/'/>") == "newsml-g2"
    )
    assert sniff("\x16\x16\x01x\r\nr i\x13\x11 BC-X 01-01\r\n\x02^Head<") == "anpa1312"
    assert sniff("\x01abc 1 i 1 dpa 1\r\n\x02Head =\r\n\x03") == "iptc7901"
    with pytest.raises(ParseError, match="neither ninjs nor JSON Feed"):
        sniff('{"a": 1}')
