"""Rendered feed bytes in Redis, stored with their strong ETag and Last-Modified.

Written by render; read by render's HTTP side (which serves exactly these bytes and never
renders) and by publish (WebSub content distribution sends the same bytes to hub subscribers).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import redis

from shared import keys
from shared.redis_conn import raw, text


@dataclass(frozen=True)
class StoredFeed:
    body: bytes
    etag: str
    last_modified: datetime
    content_type: str


def etag_of(body: bytes) -> str:
    """A strong ETag: a hash of the bytes, quoted."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def save_feed(
    client: redis.Redis,
    name: str,
    fmt: str,
    body: bytes,
    last_modified: datetime,
    content_type: str,
) -> bool:
    """Store a render; returns whether the bytes changed."""
    key = keys.feed(name, fmt)
    etag = etag_of(body)
    if client.hget(key, "etag") == etag.encode():
        return False
    client.hset(
        key,
        mapping={
            "body": body,
            "etag": etag,
            "last_modified": last_modified.isoformat(),
            "content_type": content_type,
        },
    )
    return True


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
