"""Bytes to text: the declared charset, else UTF-8, else detection; never a silent mojibake."""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from shared.errors import ParseError

_CHARSET = re.compile(r"charset\s*=\s*\"?([\w.:-]+)", re.IGNORECASE)
_LATIN_FAMILY = ("cp125", "iso8859", "latin", "windows_125", "cp850", "mac_")
_XML_ENCODING = re.compile(rb"^<\?xml[^>]*encoding=[\"']([\w.:-]+)[\"']")


def declared_charset(content_type: str, data: bytes) -> str | None:
    """The charset named by the Content-Type, else by an XML declaration."""
    match = _CHARSET.search(content_type)
    if match:
        return match.group(1)
    xml = _XML_ENCODING.match(data.lstrip(b"\xef\xbb\xbf \t\r\n")[:200])
    return xml.group(1).decode("ascii") if xml else None


def decode(data: bytes, content_type: str = "") -> str:
    """Decode copy; bytes invalid in their declared charset are a ``ParseError`` saying where."""
    charset = declared_charset(content_type, data)
    if charset:
        try:
            codecs.lookup(charset)
        except LookupError:
            raise ParseError(f"unknown charset {charset!r}", format="encoding") from None
        try:
            return data.decode(charset).lstrip("\ufeff")
        except UnicodeDecodeError as exc:
            raise ParseError(
                f"bytes invalid in the declared charset {charset} at byte {exc.start}",
                format="encoding",
            ) from None
    try:
        return data.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    non_ascii = sum(1 for byte in data if byte > 0x7F)
    if non_ascii * 20 < len(data):
        # mostly ASCII with a few high bytes: legacy Western copy (an NBSP, a curly quote)
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            pass
    best = from_bytes(data).best()
    # Legacy Western copy is overwhelmingly Windows-1252; single-byte Latin guesses are often
    # wrong between siblings (cp1250 vs cp1252), so prefer cp1252 whenever it decodes cleanly.
    if best is None or best.encoding.replace("-", "_").startswith(_LATIN_FAMILY):
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            pass
    if best is None:
        raise ParseError(
            f"not valid UTF-8 (byte {first_bad}) and no other encoding fits",
            format="encoding",
        )
    return str(best)
