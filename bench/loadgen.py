"""An open-loop load generator: posts at fixed times, whatever the answers do.

Post ``i`` of a step is due at ``start + i / rate``; a dispatcher hands it to one of a few
threads, each holding one keep-alive ``http.client`` connection. A slow answer delays later posts
(they queue for a connection) but never the schedule, and every latency is measured from the
time a post was *due*, so a slow API counts against the service (no coordinated omission).
Bodies are generated before the step starts, so generating copy costs nothing during it.
"""

from __future__ import annotations

import http.client
import queue
import re
import threading
import time
from dataclasses import dataclass

from bench.wirecopy import Copy

_WIRE_ID = re.compile(rb'"id"\s*:\s*"(wire_[^"]+)"')


@dataclass
class Post:
    """One post: when it was due, when it was answered, and how."""

    seq: int
    due: float
    done: float = 0.0
    status: int = 0
    wire_id: str | None = None


def run_open_loop(
    host: str,
    port: int,
    token: str,
    copies: list[Copy],
    rate: float,
    connections: int = 8,
) -> list[Post]:
    """Post every copy at ``rate`` per second; return one ``Post`` per copy once all answered."""
    posts = [Post(seq=i, due=0.0) for i in range(len(copies))]
    work: queue.Queue[int | None] = queue.Queue()

    def sender() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        while (i := work.get()) is not None:
            copy, post = copies[i], posts[i]
            headers = {
                "Authorization": f"Bearer {token}",
                "Content-Type": copy.content_type,
                "Content-Length": str(len(copy.body)),
            }
            try:
                conn.request("POST", "/v1/wire", body=copy.body, headers=headers)
                response = conn.getresponse()
                answer = response.read()
                post.status = response.status
                found = _WIRE_ID.search(answer)
                post.wire_id = found.group(1).decode() if found else None
            except (OSError, http.client.HTTPException):
                post.status = 0
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
            post.done = time.time()
        conn.close()

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    start = time.time() + 0.05
    for i, post in enumerate(posts):
        post.due = start + i / rate
        pause = post.due - time.time()
        if pause > 0:
            time.sleep(pause)
        work.put(i)
    for _ in threads:
        work.put(None)
    for thread in threads:
        thread.join()
    return posts
