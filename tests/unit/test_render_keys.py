"""Keys a Lua script uses together hash to one Redis Cluster slot (they share a hash tag)."""

from __future__ import annotations

import pytest
from redis.crc import key_slot

from shared import keys


@pytest.mark.parametrize(
    "name", ["all", "sections/world-news", "contributors/n-0123456789ab", "energy"]
)
def test_a_feeds_index_keys_share_one_slot(name: str) -> None:
    together = [keys.feed_entries(name), keys.feed_pages(name), keys.feed_tombstones(name)]
    assert len({key_slot(key.encode()) for key in together}) == 1
    assert all(f"{{{name}}}" in key for key in together)  # the feed name is the hash tag


def test_feeds_spread_over_slots() -> None:
    names = [f"sections/s{n}" for n in range(50)]
    assert len({key_slot(keys.feed_entries(name).encode()) for name in names}) > 10


def test_the_coalescing_keys_share_one_slot() -> None:
    together = [
        keys.feeds_dirty(),
        keys.feeds_rendering(),
        keys.feed_claims(),
        keys.feeds_partial(),
    ]
    assert len({key_slot(key.encode()) for key in together}) == 1
