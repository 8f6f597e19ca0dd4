"""XML and JSON read safely: no external entity, DTD or network fetch; no entity expansion at all.

Wire XML never needs entity declarations of its own (NITF's DTD is referenced, never inlined), so a
document that declares any entity is refused outright, like defusedxml's ``forbid_entities``: that
stops billion-laughs bombs and XXE before they start. The parser itself is hardened as well
(``resolve_entities=False``, ``no_network=True``, ``load_dtd=False``, ``huge_tree=False``), so a
DOCTYPE that only *names* a DTD is parsed without fetching it.

Malformed XML or JSON is a ``ParseError`` naming the line and column.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lxml import etree

from shared.errors import ParseError

_ENTITY_DECL = re.compile(r"<!ENTITY", re.IGNORECASE)
#: deeper JSON than this is refused rather than risking the recursion limit
MAX_JSON_DEPTH = 64


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        recover=False,
    )


def _prolog(text: str) -> str:
    """What stands before the root element (the XML declaration, comments, the DOCTYPE)."""
    match = re.search(r"<[A-Za-z_]", text)
    return text[: match.start()] if match else text


def _as_bytes(text: str) -> bytes:
    # the declaration may name another encoding; the text is already decoded, so drop it
    # (replaced by spaces, so that line and column numbers still point into the original)
    text = re.sub(
        r"^<\?xml[^>]*\?>", lambda m: " " * len(m.group()), text.lstrip("\ufeff"), count=1
    )
    return text.encode("utf-8")


def parse_xml(text: str, *, fmt: str = "xml") -> etree._Element:
    """The root element of a well-formed, entity-free document; ``ParseError`` otherwise."""
    if _ENTITY_DECL.search(_prolog(text)):
        raise ParseError(
            "the document declares entities; entity declarations are refused "
            "(they allow entity-expansion bombs and external-entity reads)",
            format=fmt,
        )
    try:
        root = etree.fromstring(_as_bytes(text), _parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (exc.lineno, exc.offset)
        message = str(exc.msg or exc).split(" (<string>", 1)[0]
        raise ParseError(
            f"malformed XML at line {line}, column {column}: {message}",
            format=fmt,
            line=line,
            column=column,
        ) from None
    except (ValueError, etree.LxmlError) as exc:
        raise ParseError(f"unreadable XML: {exc}", format=fmt) from None
    dtd: Any = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise ParseError("the document declares entities; they are refused", format=fmt)
    return root


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of decoded JSON, iteratively (no recursion to blow)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return depth
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return deepest


def parse_json(text: str, *, fmt: str = "json") -> Any:
    """Decoded JSON; malformed or absurdly nested input is a ``ParseError`` with line and column."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            format=fmt,
            line=exc.lineno,
            column=exc.colno,
        ) from None
    except RecursionError:
        raise ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels", format=fmt) from None
    if _depth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels", format=fmt)
    return value


# --- reading helpers shared by the XML formats --------------------------------------------------


def local(tag: object) -> str:
    """The tag without its namespace (``{ns}newsItem`` → ``newsItem``); '' for comments etc."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def children(element: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in element if local(child.tag) == name]


def child(element: etree._Element | None, name: str) -> etree._Element | None:
    if element is None:
        return None
    return next((c for c in element if local(c.tag) == name), None)


def descendants(element: etree._Element, name: str) -> list[etree._Element]:
    return [el for el in element.iter() if local(el.tag) == name]


def first(element: etree._Element, name: str) -> etree._Element | None:
    return next((el for el in element.iter() if local(el.tag) == name), None)


def text_of(element: etree._Element | None) -> str:
    """All the text inside ``element``, tags dropped, whitespace left for the cleaner."""
    if element is None:
        return ""
    return "".join(t for t in element.itertext() if isinstance(t, str))
