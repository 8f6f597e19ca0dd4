"""Fault injection for the fault tier only: this folder is put on ``PYTHONPATH`` of the
service's processes by ``tests/faults/conftest.py`` and nowhere else, so no production process
loads it. With ``FAULTS_POISON_MARKER`` set, the ingest parser kills its own process (SIGKILL,
as a segfault in a C extension would) when the copy holds the marker: a poison item."""

from __future__ import annotations

import os

_MARKER = os.environ.get("FAULTS_POISON_MARKER", "")

if _MARKER:
    import signal
    from typing import Any

    from services.ingest import formats

    _real_parse = formats.parse

    def _parse(body: bytes, *args: Any, **kwargs: Any) -> Any:
        if _MARKER.encode() in body:
            os.kill(os.getpid(), signal.SIGKILL)
        return _real_parse(body, *args, **kwargs)

    formats.parse = _parse  # type: ignore[assignment]

_LOSE_EVERY = int(os.environ.get("FAULTS_LOSE_INGEST_SENDS", "0") or 0)

if _LOSE_EVERY:
    import itertools
    import logging
    from typing import Any

    from shared import broker, names

    _real_add = broker.add
    _count = itertools.count(1)

    def _add(pipe: Any, task_name: str, *args: Any) -> None:
        """Every Nth ingest task message is never written, as if it were lost on its way
        (kombu's Redis transport can lose one taken by a worker that dies at once; a source's
        send can fail after its entry was stored): the outbox sweeper must make up for it."""
        if task_name == names.TASK_INGEST_WIRE and next(_count) % _LOSE_EVERY == 0:
            logging.getLogger("faults").warning("fault: the ingest task of %s is lost", args[0])
            return
        _real_add(pipe, task_name, *args)

    broker.add = _add  # type: ignore[assignment]
