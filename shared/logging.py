"""Logs every process writes the same way: one JSON object per line (or text for a terminal),
with the ids of what a line is about, and never a secret.

The ids travel in a ``contextvars`` context, not in each call: a task binds them where they
become known and every line logged inside, by our code or a library's, carries them::

    with bind(wire_id=wire_id):          # a scope: the ids are gone when it ends
        ...
        add(story_id=story.id)           # more ids for the rest of the current scope
        log.info("stored")               # {"ts", "level", "logger", "msg", "process",
                                         #  "wire_id", "story_id", ...}

Every Celery task runs inside ``bind(task_id=…, task=…)`` (``shared.celery_app``), so ids a
task adds never outlive it. ``configure_logging(role)`` is called once by each process entry
(``syndicate api``/``worker``/``scheduler``/``up``); uvicorn takes ``dict_config(role)`` so that
each of its worker processes is configured the same. ``SYNDICATE_LOG_FORMAT`` chooses ``text``
(the default) or ``json``; ``SYNDICATE_LOG_LEVEL`` the level.

Secrets are masked before a line is written, whatever logged it: ``whsec_`` webhook secrets,
``Bearer`` credentials and the configured API tokens.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import logging.config
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from shared.settings import Settings, get_settings

#: the ids a line may carry, in the order they are written
ID_FIELDS = (
    "wire_id",
    "story_id",
    "event_id",
    "delivery_id",
    "subscription_id",
    "source_id",
    "task_id",
    "task",
)
FORMATS = ("text", "json")
REDACTED = "[redacted]"

_context: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "syndicate_log_context", default=MappingProxyType({})
)
_SECRET_PATTERNS = (
    re.compile(r"whsec_[A-Za-z0-9+/=_-]+"),
    re.compile(r"(?i)(\bbearer\s+)[^\s'\",;]+"),
)


def current() -> dict[str, str]:
    """The ids bound now."""
    return dict(_context.get())


def _clean(ids: Mapping[str, object]) -> dict[str, str]:
    unknown = set(ids) - set(ID_FIELDS)
    if unknown:
        raise ValueError(f"not a log context field: {', '.join(sorted(unknown))}")
    return {k: str(v) for k, v in ids.items() if v is not None}


@contextlib.contextmanager
def bind(**ids: object) -> Iterator[None]:
    """Lines logged inside carry ``ids`` (``None`` values are left out); the ids bound before
    are back when the block ends."""
    token = _context.set({**_context.get(), **_clean(ids)})
    try:
        yield
    finally:
        _context.reset(token)


def add(**ids: object) -> None:
    """Add ``ids`` for the rest of the current ``bind`` scope (every task runs in one)."""
    _context.set({**_context.get(), **_clean(ids)})


class Redactor:
    """Masks secrets in text: the patterns above and the literal values given."""

    def __init__(self, literals: Iterable[str] = ()) -> None:
        self.literals = sorted({s for s in literals if len(s) >= 8}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for literal in self.literals:
            if literal in text:
                text = text.replace(literal, REDACTED)
        for pattern in _SECRET_PATTERNS:
            text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
        return text


class ContextFilter(logging.Filter):
    """Puts the bound ids on each record as it is emitted (a field logged with ``extra=`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``msg``, ``process`` (the role),
    ``pid``, the ids known, ``exc`` (the traceback) when there is one."""

    def __init__(self, role: str = "syndicate", redact: Redactor | None = None) -> None:
        super().__init__()
        self.role = role
        self.redact = redact or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": self.redact(record.getMessage()),
            "process": self.role,
            "pid": record.process,
        }
        for name in ID_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = str(value)
        if record.exc_info:
            entry["exc"] = self.redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exc"] = self.redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = self.redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The classic line, the role in it, the known ids appended as ``key=value``."""

    def __init__(self, role: str = "syndicate", redact: Redactor | None = None) -> None:
        super().__init__(f"%(asctime)s %(levelname)s {role}[%(process)d] %(name)s: %(message)s")
        self.redact = redact or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = [
            f"{name}={getattr(record, name)}"
            for name in ID_FIELDS
            if getattr(record, name, None) is not None
        ]
        if ids:
            head, sep, rest = line.partition("\n")
            line = f"{head} [{' '.join(ids)}]{sep}{rest}"
        return self.redact(line)


def formatter(role: str, fmt: str = "text", secrets: Iterable[str] = ()) -> logging.Formatter:
    """The formatter for ``fmt`` (``text`` or ``json``); ``secrets`` are masked besides the
    patterns. Also the factory ``dict_config`` names."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    redact = Redactor(secrets)
    return JsonFormatter(role, redact) if fmt == "json" else TextFormatter(role, redact)


def _from_settings(role: str) -> logging.Formatter:
    settings = get_settings()
    return formatter(role, settings.log_format, _secrets(settings))


def _secrets(settings: Settings) -> list[str]:
    return [*settings.token_values(), *settings.ingest_token_values()]


def dict_config(role: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dictionary of our logging (what uvicorn takes)."""
    level = get_settings().log_level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {"syndicate": {"()": _from_settings, "role": role}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "syndicate",
                "filters": ["context"],
            }
        },
        # uvicorn's own loggers have handlers of their own unless told otherwise
        "loggers": {
            name: {"handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
        "root": {"level": level, "handlers": ["stderr"]},
    }


def configure_logging(role: str) -> None:
    """Configure this process's logging (once per process entry; calling again replaces it).
    Celery, when it starts a worker or beat here, leaves this configuration alone."""
    logging.config.dictConfig(dict_config(role))
    logging.captureWarnings(True)
    with contextlib.suppress(ImportError):
        from celery.signals import setup_logging

        setup_logging.connect(_keep_ours, weak=False, dispatch_uid="syndicate-logging")


def _keep_ours(**_: Any) -> None:
    """A receiver of Celery's ``setup_logging``: its presence makes Celery configure nothing."""


def notice_writer(role: str, logger: str = "celery.apps.worker") -> Callable[..., None]:
    """A stand-in for Celery's ``safe_say`` (the notices a worker prints from its signal
    handlers, such as ``worker: Warm shutdown (MainProcess)``) that writes them as our JSON
    lines (``JsonFormatter``, secrets masked): one ``os.write`` of a whole line to stderr, no
    handler and so no lock, as a signal handler needs."""
    json_lines = formatter(role, "json", _secrets(get_settings()))

    def say(msg: str, f: Any = None) -> None:
        record = logging.makeLogRecord(
            {"name": logger, "levelname": "INFO", "levelno": logging.INFO, "msg": str(msg).strip()}
        )
        line = json_lines.format(record) + "\n"
        with contextlib.suppress(OSError):
            os.write(sys.__stderr__.fileno() if sys.__stderr__ else 2, line.encode())

    return say


def is_json() -> bool:
    """Whether this process writes JSON lines (Celery's banner is then left out)."""
    return get_settings().log_format == "json"


__all__ = [
    "ID_FIELDS",
    "ContextFilter",
    "JsonFormatter",
    "Redactor",
    "TextFormatter",
    "add",
    "bind",
    "configure_logging",
    "current",
    "dict_config",
    "formatter",
    "notice_writer",
]
