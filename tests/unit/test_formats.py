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
