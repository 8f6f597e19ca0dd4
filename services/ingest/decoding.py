"""Bytes to text: a BOM, else the declared charset, else UTF-8, else detection; never a silent
mojibake.

The order, and why:

1. **A byte-order mark** names the encoding beyond doubt (UTF-8, UTF-16 or UTF-32, either byte
   order) and wins over any declaration, as in the XML and HTML specifications.
2. **The declared charset** (the ``Content-Type``'s, else the XML declaration's). It must be a
   *text* encoding: ``rot13``, ``base64``, ``zlib``… are codecs Python knows but not charsets,
   and are refused like an unknown name. Bytes invalid in it are a ``ParseError`` naming the
   byte offset.
3. **UTF-16/32 without a BOM**, told by the shape of an XML declaration (``<\\0?\\0``) or by
   NUL bytes in every other (every fourth) position.
4. **UTF-8**.
5. Mostly-ASCII copy with a few high bytes is Windows-1252 (legacy Western copy), except when
   it holds NUL bytes (text never does: that is UTF-16 we could not read, or binary); else
   charset detection.

Every failure is a ``ParseError`` (``format: "encoding"``), never another exception.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from shared.errors import ParseError

_CHARSET = re.compile(r"charset\s*=\s*\"?([\w.:-]+)", re.IGNORECASE)
_LATIN_FAMILY = ("cp125", "iso8859", "latin", "windows_125", "cp850", "mac_")
_XML_ENCODING = re.compile(rb"^<\?xml[^>]*encoding=[\"']([\w.:-]+)[\"']")
#: byte-order marks, the longer first (UTF-32 LE starts with UTF-16 LE's mark)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
#: ``<?`` (an XML declaration) in the wide encodings, without a BOM (XML 1.0, appendix F)
_WIDE_XML: tuple[tuple[bytes, str], ...] = (
    (b"<\x00\x00\x00?\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<\x00\x00\x00?", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)


def declared_charset(content_type: str, data: bytes) -> str | None:
    """The charset named by the Content-Type, else by an XML declaration."""
    match = _CHARSET.search(content_type)
    if match:
        return match.group(1)
    xml = _XML_ENCODING.match(data.lstrip(b"\xef\xbb\xbf \t\r\n")[:200])
    return xml.group(1).decode("ascii") if xml else None


def _bom(data: bytes) -> tuple[str, int] | None:
    """The encoding a byte-order mark names, and the mark's length."""
    for mark, encoding in _BOMS:
        if data.startswith(mark):
            return encoding, len(mark)
    return None


def _wide_without_bom(data: bytes) -> str | None:
    """UTF-16/32 without a BOM: an XML declaration's shape, or NULs where ASCII's high bytes go."""
    for pattern, encoding in _WIDE_XML:
        if data.startswith(pattern):
            return encoding
    sample = data[:4096]
    if len(sample) < 8 or b"\x00" not in sample:
        return None
    size = len(sample) - len(sample) % 4
    lanes = [sample[lane:size:4].count(0) for lane in range(4)]
    quarter = size // 4
    if lanes[1] == lanes[2] == lanes[3] == quarter and lanes[0] < quarter:
        return "utf-32-le"
    if lanes[0] == lanes[1] == lanes[2] == quarter and lanes[3] < quarter:
        return "utf-32-be"
    odd = sample[1:size:2].count(0)
    even = sample[0:size:2].count(0)
    half = size // 2
    if odd >= 0.9 * half and even < 0.5 * half:
        return "utf-16-le"
    if even >= 0.9 * half and odd < 0.5 * half:
        return "utf-16-be"
    return None


def _text_codec(charset: str) -> str:
    """The codec a declared charset names; a ``ParseError`` for unknown names and for codecs
    that are not text encodings (``rot13``, ``base64``, ``zlib``…)."""
    try:
        info = codecs.lookup(charset)
    except (LookupError, ValueError, TypeError):
        raise ParseError(f"unknown charset {charset!r}", format="encoding") from None
    if not getattr(info, "_is_text_encoding", True):
        raise ParseError(
            f"{charset!r} is not a text encoding (a charset names how text is written as bytes)",
            format="encoding",
        )
    return info.name


def _decode_as(data: bytes, encoding: str, what: str) -> str:
    try:
        return data.decode(encoding).lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"bytes invalid in the {what} {encoding} at byte {exc.start}", format="encoding"
        ) from None
    except (UnicodeError, LookupError, ValueError, TypeError) as exc:
        # a codec that fails in another way still only means: these bytes are not that text
        raise ParseError(f"bytes unreadable as {encoding}: {exc}", format="encoding") from None


def decode(data: bytes, content_type: str = "") -> str:
    """Decode copy (see the module docstring for the order); ``ParseError`` when it cannot be."""
    if bom := _bom(data):
        encoding, length = bom
        return _decode_as(data[length:], encoding, "encoding its byte-order mark names")
    charset = declared_charset(content_type, data)
    if charset:
        return _decode_as(data, _text_codec(charset), "declared charset")
    if wide := _wide_without_bom(data):
        return _decode_as(data, wide, "detected encoding")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    has_nul = b"\x00" in data
    non_ascii = sum(1 for byte in data if byte > 0x7F)
    if not has_nul and non_ascii * 20 < len(data):
        # mostly ASCII with a few high bytes: legacy Western copy (an NBSP, a curly quote)
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            pass
    best = from_bytes(data).best()
    # Legacy Western copy is overwhelmingly Windows-1252; single-byte Latin guesses are often
    # wrong between siblings (cp1250 vs cp1252), so prefer cp1252 whenever it decodes cleanly.
    if not has_nul and (best is None or best.encoding.replace("-", "_").startswith(_LATIN_FAMILY)):
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            pass
    if best is None or (has_nul and "\x00" in str(best)):
        raise ParseError(
            f"not valid UTF-8 (byte {first_bad}) and no other encoding fits",
            format="encoding",
        )
    return str(best)
