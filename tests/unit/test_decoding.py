"""Bytes to text: byte-order marks first, wide encodings never read as Windows-1252, codecs that
are not charsets refused as a ParseError (never another exception)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ingest.decoding import decode
from services.ingest.formats import ParseContext, parse
from services.ingest.numbers import version_number
from services.ingest.precheck import precheck
from shared.errors import ParseError

NITF = (Path(__file__).parents[1] / "data" / "formats" / "nitf.xml").read_text(encoding="utf-8")
TEXT = "Zoë’s café opens on the quay\n\nOSLO, March 4 (Reuters) - The café opened.\n"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-32-be", "utf-8-sig"])
def test_a_nitf_document_with_a_byte_order_mark_parses(encoding: str) -> None:
    declared = NITF.replace('encoding="utf-8"', f'encoding="{encoding.upper()}"')
    data = declared.encode(encoding)
    if encoding.endswith("-be"):
        data = "\ufeff".encode(encoding) + data  # the -be codecs write no mark of their own
    assert precheck(data, "application/octet-stream") is None
    (draft,) = parse(data, ParseContext())
    assert draft.format == "nitf"
    assert draft.headline == "Island ferry adds a dawn sailing for summer"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_wide_text_without_a_mark_is_not_read_as_windows_1252(encoding: str) -> None:
    assert decode(TEXT.encode(encoding)) == TEXT
    xml = NITF.replace('encoding="utf-8"', f'encoding="{encoding[:6].upper()}"')
    assert parse(xml.encode(encoding), ParseContext())[0].format == "nitf"


def test_a_byte_order_mark_wins_over_a_declared_charset() -> None:
    data = "\ufeffZoë".encode("utf-16-le")
    assert decode(data, "text/plain; charset=iso-8859-1") == "Zoë"


@pytest.mark.parametrize("charset", ["rot13", "base64", "zlib", "hex", "uu", "bz2", "quopri"])
def test_a_codec_that_is_no_charset_is_a_parse_error(charset: str) -> None:
    with pytest.raises(ParseError, match="not a text encoding"):
        decode(b"Headline here today\n\nBody.", f"text/plain; charset={charset}")
    xml = f"<?xml version='1.0' encoding='{charset}'?><nitf/>".encode()
    error = precheck(xml, "application/xml")
    assert error is not None and "not a text encoding" in error.detail


def test_unknown_and_unusable_charsets_are_parse_errors() -> None:
    with pytest.raises(ParseError, match="unknown charset"):
        decode(b"abc", "text/plain; charset=klingon")
    with pytest.raises(ParseError, match="utf-16"):
        decode(b"abc", "text/plain; charset=utf-16")  # an odd number of bytes


def test_nul_bytes_never_take_the_windows_1252_shortcut() -> None:
    # NULs and a high byte, in no wide pattern: binary, not legacy Western text
    data = b"Head\x00line\x00 \xe9t\xe9 " + b"x\x00y" * 5
    with pytest.raises(ParseError):
        decode(data)


@pytest.mark.parametrize(
    ("value", "number"),
    [("3", 3), (" 12 ", 12), (7, 7), ("²", None), ("١٢", None), ("Ⅻ", None), ("3a", None),
     ("", None), ("-1", None), (-1, None), ("1e9", None), ("9" * 19, None), ("9" * 5000, None),
     (True, None), (3.0, None), (None, None), ({"a": 1}, None)],
)  # fmt: skip
def test_version_numbers_are_ascii_digits_only(value: object, number: int | None) -> None:
    assert version_number(value) == number


@pytest.mark.parametrize(
    "document",
    [
        b'{"uri": "u1", "headline": "Harbour opens", "version": "\xc2\xb2", "body_text": "x"}',
        '<nitf><head><docdata><du-key key="k" version="²"/></docdata></head><body><body.head>'
        "<hedline><hl1>Harbour opens</hl1></hedline></body.head></body></nitf>".encode(),
        '<newsItem guid="g" version="²" xmlns="http://iptc.org/std/nar/2006-10-01/"><contentMeta>'
        "<headline>Harbour opens</headline></contentMeta></newsItem>".encode(),
        "<NewsML><NewsItem><Identification><NewsIdentifier><RevisionId>²</RevisionId>"
        "</NewsIdentifier></Identification><NewsComponent><NewsLines><HeadLine>Harbour opens"
        "</HeadLine></NewsLines></NewsComponent></NewsItem></NewsML>".encode(),
    ],
    ids=["ninjs", "nitf", "newsml-g2", "newsml-1.2"],
)
def test_a_unicode_digit_version_is_no_version(document: bytes) -> None:
    (draft,) = parse(document, ParseContext())
    assert draft.headline == "Harbour opens" and draft.source_version is None
