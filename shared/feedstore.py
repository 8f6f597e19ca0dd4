"""Rendered feed bytes in Redis, stored with their strong ETag and Last-Modified.

Written by render; read by render's HTTP side (which serves exactly these bytes, after
rendering a pending change) and by publish (a WebSub push sends the diff render kept here for
that render, ``feed_diff``, or else these bytes).

Beside the body, each render is kept gzip-compressed once, made by the first read that asks for
gzip (deterministic: no timestamp in the gzip header) and stored beside the body, so the HTTP
side never compresses per request and a render nobody reads compressed costs nothing: a followed
feed renders up to four times a second, and compressing its three formats at level 9 cost the
render pump several times what rendering them did. A new render drops the stored gzip bytes in
the same write, so gzip bytes never outlive the body they were made from. Each encoding has its
own strong ETag: the body's hash, suffixed ``-gzip`` for the gzip bytes.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis

from shared import keys
from shared.redis_conn import Lua, raw, text


@dataclass(frozen=True)
class StoredFeed:
    body: bytes
    etag: str
    last_modified: datetime
    content_type: str


ENCODINGS = ("identity", "gzip")
_FIELDS = {"identity": ("body", "etag", "length"), "gzip": ("gzip", "gzip_etag", "gzip_length")}


def etag_of(body: bytes) -> str:
    """A strong ETag: a hash of the bytes, quoted."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def gzip_etag_of(etag: str) -> str:
    """The ETag of the gzip bytes of a body whose ETag is ``etag``."""
    return etag[:-1] + '-gzip"'


def compress(body: bytes) -> bytes:
    """gzip without a timestamp: the same body always gives the same bytes."""
    return gzip.compress(body, compresslevel=9, mtime=0)


# KEYS: the feed's hash. ARGV: claim (fencing token; "" for none), then field, value pairs.
# Refuses (returns 0) a write whose claim is older than the one that wrote the stored bytes;
# drops the gzip bytes of the body it replaces.
_SAVE = Lua("""
if ARGV[1] ~= '' then
  local stored = redis.call('HGET', KEYS[1], 'claim')
  if stored and tonumber(stored) > tonumber(ARGV[1]) then return 0 end
  redis.call('HSET', KEYS[1], 'claim', ARGV[1])
end
redis.call('HDEL', KEYS[1], 'gzip', 'gzip_etag', 'gzip_length')
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
""")

# KEYS: the feed's hash. ARGV: the ETag of the body compressed, gzip bytes, gzip ETag, length.
# Stores the gzip bytes only while that body is still the stored one (returns 1), else 0.
_SAVE_GZIP = Lua("""
if redis.call('HGET', KEYS[1], 'etag') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'gzip', ARGV[2], 'gzip_etag', ARGV[3], 'gzip_length', ARGV[4])
return 1
""")


@dataclass(frozen=True)
class Stored:
    """What a save compares a new render with: the stored validators of one format."""

    etag: bytes | None
    last_modified: datetime | None


def load_stored(client: redis.Redis, name: str, fmts: Sequence[str]) -> dict[str, Stored]:
    """``Stored`` of each format of a document, in one round trip (a render saves all three)."""
    pipe = client.pipeline(transaction=False)
    for fmt in fmts:
        pipe.hmget(keys.feed(name, fmt), ["etag", "last_modified"])
    found = {}
    for fmt, (etag, modified) in zip(fmts, pipe.execute(), strict=True):
        when = datetime.fromisoformat(text(modified)) if modified is not None else None
        found[fmt] = Stored(etag, when)
    return found


def save_feed(
    client: redis.Redis,
    name: str,
    fmt: str,
    body: bytes,
    last_modified: datetime,
    content_type: str,
    *,
    claim: int | None = None,
    stored: Stored | None = None,
) -> bool:
    """Store a render; returns whether the bytes changed.

    ``claim`` is the render's fencing token (the claim number of the document, ``dirty.py``):
    a render whose claim is older than the one that stored the current bytes is refused (returns
    ``False``), so a renderer that stalled past its lease never overwrites newer bytes.
    ``stored``: the format's validators if the caller read them already (``load_stored``).
    """
    key = keys.feed(name, fmt)
    etag = etag_of(body)
    stored_etag = client.hget(key, "etag") if stored is None else stored.etag
    if stored_etag == etag.encode():
        return False
    fields: dict[str, bytes | str | int] = {
        "body": body,
        "etag": etag,
        "length": len(body),
        "last_modified": last_modified.isoformat(),
        "content_type": content_type,
    }
    flat = [value for pair in fields.items() for value in pair]
    written = _SAVE(client, [key], ["" if claim is None else claim, *flat])
    return bool(written) and stored_etag != etag.encode()


def load_feed(client: redis.Redis, name: str, fmt: str) -> StoredFeed | None:
    body, etag, last_modified, content_type = client.hmget(
        keys.feed(name, fmt), ["body", "etag", "last_modified", "content_type"]
    )
    if body is None or etag is None or last_modified is None or content_type is None:
        return None
    return StoredFeed(
        body=raw(body),
        etag=text(etag),
        last_modified=datetime.fromisoformat(text(last_modified)),
        content_type=text(content_type),
    )


@dataclass(frozen=True)
class StoredHeaders:
    """What a conditional request needs, without the body."""

    etag: str
    last_modified: datetime
    content_type: str
    length: int


def load_headers(
    client: redis.Redis, name: str, fmt: str, encoding: str = "identity"
) -> StoredHeaders | None:
    """The validators of one stored encoding (``identity`` or ``gzip``), or ``None``. The gzip
    bytes are made here when no read has asked for them since the last render (their length is
    one of the validators)."""
    _, etag_field, length_field = _FIELDS[encoding]
    etag, length, last_modified, content_type = client.hmget(
        keys.feed(name, fmt), [etag_field, length_field, "last_modified", "content_type"]
    )
    if encoding == "gzip" and etag is None:
        made = _compressed(client, name, fmt)
        return None if made is None else made[1]
    if etag is None or length is None or last_modified is None or content_type is None:
        return None
    return StoredHeaders(
        etag=text(etag),
        last_modified=datetime.fromisoformat(text(last_modified)),
        content_type=text(content_type),
        length=int(length),
    )


def load_encoded(
    client: redis.Redis, name: str, fmt: str, encoding: str = "identity"
) -> tuple[bytes, StoredHeaders] | None:
    """The stored bytes of one encoding with their validators, read together (one HMGET, so
    the ETag always belongs to these very bytes); gzip bytes not made yet are made here."""
    body_field, etag_field, _ = _FIELDS[encoding]
    body, etag, last_modified, content_type = client.hmget(
        keys.feed(name, fmt), [body_field, etag_field, "last_modified", "content_type"]
    )
    if encoding == "gzip" and (body is None or etag is None):
        return _compressed(client, name, fmt)
    if body is None or etag is None or last_modified is None or content_type is None:
        return None
    data = raw(body)
    headers = StoredHeaders(
        etag=text(etag),
        last_modified=datetime.fromisoformat(text(last_modified)),
        content_type=text(content_type),
        length=len(data),
    )
    return data, headers


def _compressed(client: redis.Redis, name: str, fmt: str) -> tuple[bytes, StoredHeaders] | None:
    """Compress the stored body of one format and keep the gzip bytes beside it (unless a
    newer render replaced that body meanwhile: then these bytes still go out, with the ETag of
    the body they were made from, and the next gzip read compresses the newer one)."""
    key = keys.feed(name, fmt)
    body, etag, last_modified, content_type = client.hmget(
        key, ["body", "etag", "last_modified", "content_type"]
    )
    if body is None or etag is None or last_modified is None or content_type is None:
        return None
    packed = compress(raw(body))
    gzip_etag = gzip_etag_of(text(etag))
    _SAVE_GZIP(client, [key], [etag, packed, gzip_etag, len(packed)])
    headers = StoredHeaders(
        etag=gzip_etag,
        last_modified=datetime.fromisoformat(text(last_modified)),
        content_type=text(content_type),
        length=len(packed),
    )
    return packed, headers


def delete_feed(client: redis.Redis, name: str, formats: tuple[str, ...]) -> None:
    """Forget every stored format of a feed (a named feed that was removed from the settings);
    its WebSub diffs expire on their own."""
    client.delete(
        *(keys.feed(name, fmt) for fmt in formats),
        keys.feed_announced(name),
        keys.feed_announced_entries(name),
        keys.feed_arrivals(name),
    )


def load_announced(client: redis.Redis, name: str) -> dict[str, str] | None:
    """The ETags (per format) of the last change announced for a feed; None if none was."""
    raw = client.hgetall(keys.feed_announced(name))
    return {text(k): text(v) for k, v in raw.items()} if raw else None


def stored_etags(client: redis.Redis, name: str, formats: tuple[str, ...]) -> dict[str, str]:
    """The ETag of each stored format of a feed (formats not stored are left out)."""
    pipe = client.pipeline(transaction=False)
    for fmt in formats:
        pipe.hget(keys.feed(name, fmt), "etag")
    return {fmt: text(e) for fmt, e in zip(formats, pipe.execute(), strict=True) if e is not None}


def save_announced(client: redis.Redis, name: str, etags: dict[str, str]) -> None:
    """Record that ``feed.updated`` for these ETags was sent."""
    client.hset(keys.feed_announced(name), items=[v for pair in etags.items() for v in pair])


# --- WebSub diffs ------------------------------------------------------------------------------


#: arrivals kept per feed at most (a feed whose renders stopped being announced)
MAX_ARRIVALS = 1000


def fill_arrival(pipe: Any, name: str, story_id: str, seconds: int) -> None:
    """Note that ``story_id`` joined or changed in feed ``name`` (kept ``seconds``; a pipeline)."""
    key = keys.feed_arrivals(name)
    pipe.rpush(key, story_id)
    pipe.ltrim(key, -MAX_ARRIVALS, -1)
    pipe.expire(key, seconds)


def take_for_diff(client: redis.Redis, name: str) -> tuple[frozenset[str] | None, list[str]]:
    """The entry marks of the last announced render of a document (None if none was recorded)
    and the arrivals since, taken (one transaction: an arrival is taken by exactly one diff)."""
    pipe = client.pipeline(transaction=True)
    pipe.get(keys.feed_announced_entries(name))
    pipe.lrange(keys.feed_arrivals(name), 0, -1)
    pipe.delete(keys.feed_arrivals(name))
    previous, arrived, _ = pipe.execute()
    marks = None if previous is None else frozenset(text(previous).split())
    return marks, [text(story_id) for story_id in arrived]


def fill_announced_entries(pipe: Any, name: str, marks: Sequence[str]) -> None:
    """Record the entry marks of the render being announced (on a pipeline)."""
    pipe.set(keys.feed_announced_entries(name), " ".join(marks))


def fill_diff(pipe: Any, name: str, fmt: str, etag: str, body: bytes, seconds: int) -> None:
    """Keep the diff of the render with ETag ``etag`` in ``fmt`` for ``seconds`` (a pipeline)."""
    pipe.set(keys.feed_diff(name, fmt, etag), body, ex=seconds)


def load_diff(client: redis.Redis, name: str, fmt: str, etag: str) -> StoredDiff | None:
    """The diff a push of that render carries, with the format's content type, if it is still
    kept (one round trip)."""
    pipe = client.pipeline(transaction=False)
    pipe.get(keys.feed_diff(name, fmt, etag))
    pipe.hget(keys.feed(name, fmt), "content_type")
    body, content_type = pipe.execute()
    if body is None or content_type is None:
        return None
    return StoredDiff(raw(body), text(content_type))


@dataclass(frozen=True)
class StoredDiff:
    body: bytes
    content_type: str
