"""Drop folders on the real service: a file written in pieces is taken once, whole; a file under
a temporary name waits until it is renamed into place; copy that cannot be read goes to
``failed/`` with the reason beside it (and to the quarantine)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import redis

from services.ingest.sources.folder import Watch
from shared import keys
from tests.integration.sources.conftest import create, items, wait_parsed, wait_source
from tests.support.events import unique
from tests.support.service import Service
from tests.support.waiting import wait_for

DATA = Path(__file__).parents[2] / "data"


def folder_of(service: Service) -> Path:
    folder = service.data_dir / "drop" / unique("desk-")
    folder.mkdir(parents=True)
    return folder


def watched_size(client: redis.Redis, source_id: str, name: str) -> int | None:
    raw = client.hget(keys.source_files(source_id), name)
    watch = Watch.loads(raw.decode()) if raw else None
    return watch.size if watch else None


def test_a_file_dropped_in_pieces_is_ingested_once_whole(
    live_service: Service, made: list[str]
) -> None:
    folder = folder_of(live_service)
    source = create(live_service, made, path=str(folder), interval_seconds=1, agency="dpa")
    client = redis.Redis.from_url(live_service.redis_url)
    copy = (DATA / "plain_wire.txt").read_bytes()
    pieces = [
        copy[: len(copy) // 3],
        copy[len(copy) // 3 : 2 * len(copy) // 3],
        copy[2 * len(copy) // 3 :],
    ]
    target = folder / "story.txt"
    written = 0
    for piece in pieces:
        with target.open("ab") as handle:
            handle.write(piece)
        written += len(piece)
        # a poll has seen the file at this size (and so not taken it: it was still growing)
        wait_for(
            lambda size=written: (
                watched_size(client, source["id"], "story.txt") == size or not target.exists()
            ),
            timeout=30,
            message=f"a poll to see {written} bytes",
        )
        assert target.exists(), "taken before it was complete"
    done = folder / "done" / "story.txt"
    wait_for(done.exists, timeout=45, message="the file moved to done/")
    assert done.read_bytes() == copy
    (item,) = wait_parsed(live_service, source["id"], 1)
    wire = live_service.wire_status(item["id"])
    assert wire["size"] == len(copy) and wire["sha256"] == hashlib.sha256(copy).hexdigest()
    assert wire["source_entry"] == "story.txt" and wire["source_id"] == source["id"]
    story = live_service.get(f"/v1/stories/{item['story_ids'][0]}").json()
    assert story["body"][-1]["text"] in copy.decode()  # the last paragraph arrived too
    assert client.hlen(keys.source_files(source["id"])) == 0  # nothing left watched
    health = wait_source(
        live_service, source["id"], lambda s: s["health"]["items_taken"] == 1, "the count"
    )["health"]
    assert health["status"] == "ok"
    client.close()


def test_renamed_into_place_and_failed_files(live_service: Service, made: list[str]) -> None:
    folder = folder_of(live_service)
    source = create(live_service, made, path=str(folder), interval_seconds=1, format="nitf")
    nitf = (DATA / "formats" / "nitf.xml").read_bytes()
    (folder / ".incoming.xml.tmp").write_bytes(nitf)
    (folder / "broken.xml").write_bytes(b"<nitf><head><title>cut off</head></nitf>")
    failed = folder / "failed" / "broken.xml"
    wait_for(failed.exists, timeout=45, message="the broken file moved to failed/")
    reason = json.loads((folder / "failed" / "broken.xml.reason.json").read_text())
    assert "malformed XML" in reason["reason"] and reason["file"] == "broken.xml"
    kept = live_service.wire_status(reason["wire_id"])
    assert kept["status"] == "quarantined" and kept["error"]["line"] == 1
    assert (folder / ".incoming.xml.tmp").exists()  # still being written, as far as we know
    assert not (folder / "done").exists()

    (folder / ".incoming.xml.tmp").rename(folder / "incoming.xml")
    wait_for((folder / "done" / "incoming.xml").exists, timeout=45, message="taken once renamed")
    taken = items(live_service, source["id"])["items"]
    assert [i["entry"] for i in taken] == ["incoming.xml", "broken.xml"]
    wait_source(
        live_service,
        source["id"],
        lambda s: "broken.xml" in (s["health"]["last_error"] or ""),
        "the failed file named in the health",
    )
