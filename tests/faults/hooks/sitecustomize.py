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
