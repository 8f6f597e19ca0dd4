"""Identifiers and stable JSON bytes."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def random_id(prefix: str) -> str:
    """A new unique id such as ``wire_3xk…`` (80 random bits)."""
    return f"{prefix}_{_b32(secrets.token_bytes(10))}"


def derived_id(prefix: str, *parts: str) -> str:
    """A deterministic id from ``parts``: the same inputs always give the same id."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return f"{prefix}_{_b32(digest[:15])}"


def stable_json(value: Any) -> bytes:
    """Compact JSON with sorted keys: the same value always gives the same bytes."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode(
        "utf-8"
    )
