"""A source's own keys hash to one Redis Cluster slot (its id is their hash tag), so the
transactions and scripts that change them together work on a cluster; sources spread."""

from __future__ import annotations

from redis.crc import key_slot

from shared import keys


def own_keys(source_id: str) -> list[str]:
    return [
        keys.source(source_id),
        keys.source_poll_lock(source_id),
        keys.source_seen(source_id),
        keys.source_seen_at(source_id),
        keys.source_items(source_id),
        keys.source_files(source_id),
    ]


def test_a_sources_keys_share_one_slot() -> None:
    for source_id in ("src_a1b2c3d4e5f6g7h8", "src_zz"):
        together = own_keys(source_id)
        assert len({key_slot(key.encode()) for key in together}) == 1
        assert all(f"{{{source_id}}}" in key for key in together)  # the id is the hash tag
        assert len(set(together)) == len(together)


def test_sources_spread_over_slots() -> None:
    slots = {key_slot(keys.source(f"src_{n:04d}").encode()) for n in range(50)}
    assert len(slots) > 10


def test_the_keys_of_before_the_hash_tags_are_other_keys() -> None:
    """What the scheduler moves at start (``store.move_untagged``)."""
    assert keys.source_untagged("src_a") == "syndicate:source:src_a"
    assert keys.source_untagged("src_a", "seen-at") == "syndicate:source:src_a:seen-at"
    assert keys.source_untagged("src_a") not in own_keys("src_a")
