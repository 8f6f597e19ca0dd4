"""A feed read renders the document's pending change first (``eagerness``: feeds nobody
follows wait to be read).

The reader claims the document like a pump would (the same claim numbers fence the store) and
renders it in the API process; a document a pump is rendering right now is waited for, a
little, and then claimed if it was marked again meanwhile. When the wait runs out, or the
render fails, the reader gets the bytes stored before, never an error of ours; a failed render
is handed back, due again in a second, for the pump.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

import redis

from services.render.dirty import DirtySet
from services.render.pump import LEASE_SECONDS, RETRY_SECONDS, Rendered

log = logging.getLogger(__name__)

#: the longest a reader waits for a render another renderer holds (seconds)
WAIT_SECONDS = 2.0
POLL_SECONDS = 0.02


def render_pending(
    client: redis.Redis,
    document: str,
    render: Callable[[str, int], Rendered],
    *,
    wait: float = WAIT_SECONDS,
) -> str:
    """Render ``document`` now if a change of it is pending. Returns what happened:
    ``current`` (nothing pending), ``rendered``, ``busy`` (another renderer held it through
    the wait) or ``failed``. One round trip when nothing is pending."""
    dirty = DirtySet(client)
    deadline = time.monotonic() + wait
    while True:
        claim = dirty.claim_now(document, LEASE_SECONDS)
        if claim is None:
            return "current"
        if claim:
            break
        if time.monotonic() >= deadline:
            return "busy"
        time.sleep(POLL_SECONDS)
    try:
        result = render(document, claim)
    except Exception:
        log.exception("render of %s on read failed; the stored bytes are served", document)
        with contextlib.suppress(redis.RedisError):
            dirty.done(document, claim, time.time() + RETRY_SECONDS)
        return "failed"
    dirty.done(document, claim, result.next_due)
    return "rendered"
