"""XML is read without entities, DTDs or network; malformed XML/JSON names line and column."""

from __future__ import annotations

import pytest

from services.ingest.formats import ParseContext, parse
from services.ingest.precheck import precheck
from services.ingest.xmlsafe import parse_json, parse_xml
from shared.errors import ParseError

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<nitf><body><body.head><hedline><hl1>&lol9;</hl1></hedline></body.head></body></nitf>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE nitf [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<nitf><body><body.head><hedline><hl1>&secret;</hl1></hedline></body.head></body></nitf>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE nitf SYSTEM "http://127.0.0.1:9/nitf-3-4.dtd">
<nitf><body><body.head><hedline><hl1>A headline about the harbour</hl1></hedline></body.head></body></nitf>"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_entity_declarations_are_refused(document: bytes) -> None:
    with pytest.raises(ParseError, match="entit"):
        parse(document, ParseContext(content_type="application/nitf+xml"))
    error = precheck(document, "application/xml")
    assert error is not None and "entit" in error.detail


def test_a_doctype_naming_an_external_dtd_is_read_without_fetching_it() -> None:
    (draft,) = parse(EXTERNAL_DTD, ParseContext(content_type="application/xml"))
    assert draft.headline == "A headline about the harbour"


def test_malformed_xml_names_line_and_column() -> None:
    with pytest.raises(ParseError) as info:
        parse_xml("<?xml version='1.0'?>\n<nitf>\n  <body></bodi>\n</nitf>")
    assert (info.value.line, info.value.column) == (3, 16)
    assert "line 3, column 16" in info.value.detail


def test_malformed_json_names_line_and_column() -> None:
    with pytest.raises(ParseError) as info:
        parse_json('{\n  "headline": "x",\n  "body_text": }')
    assert info.value.line == 3 and info.value.column == 16


def test_absurdly_nested_json_is_refused() -> None:
    with pytest.raises(ParseError, match="nested"):
        parse_json("[" * 5000 + "]" * 5000)


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        (b"<nitf><body></nitf>", "application/nitf+xml", "line 1"),
        (b'{"uri": "x", "headline": ', "application/json", "line 1"),
        (b"<rss><channel><item>", "application/octet-stream", "line 1"),
        (b"Caf\xe9 headline\n\nBody", "text/plain; charset=utf-8", "byte 3"),
        (b"<x/>", "text/plain; charset=no-such-charset", "unknown charset"),
    ],
)
def test_precheck_refuses_unreadable_copy(body: bytes, content_type: str, words: str) -> None:
    error = precheck(body, content_type)
    assert error is not None and words in error.detail


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<?xml version='1.0'?><unknown-root/>", "application/xml"),  # quarantined later
        (b"A headline of the story\n\nBody text.", "text/plain"),
        (b'{"something": "else"}', "application/json"),
        ("Zoë’s café".encode("cp1252"), "text/plain"),  # decoded by detection
    ],
)
def test_precheck_lets_readable_copy_through(body: bytes, content_type: str) -> None:
    assert precheck(body, content_type) is None
