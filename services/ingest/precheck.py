"""The cheap check ``POST /v1/wire`` makes before answering: can these bytes be read at all?

Parsing is asynchronous, but a client that sends malformed XML or JSON, or bytes that are not
valid in the charset it declared, deserves to hear so at once: a ``422`` naming the line and
column. Only that is checked here (decoding, well-formedness, entity refusal); XML of an unknown
vocabulary or a story with no headline passes, and the task quarantines it with its reason.
Pure: bytes and a Content-Type in, an error (or ``None``) out.
"""

from __future__ import annotations

from services.ingest.decoding import decode
from services.ingest.formats import JSON_FORMATS, XML_FORMATS, detect, format_for_media_type
from services.ingest.xmlsafe import parse_json, parse_xml
from shared.errors import ParseError


def precheck(body: bytes, content_type: str) -> ParseError | None:
    """The error that makes this copy unreadable, or ``None`` when it can go to the parser."""
    try:
        text = decode(body, content_type)
        fmt = format_for_media_type(content_type)
        family = detect(text) if fmt == "auto" else fmt
        if family in XML_FORMATS or family == "xml":
            parse_xml(text, fmt=fmt if fmt != "auto" else "xml")
        elif family in JSON_FORMATS or family == "json":
            parse_json(text, fmt=fmt if fmt != "auto" else "json")
    except ParseError as exc:
        return exc
    return None
