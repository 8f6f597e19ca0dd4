"""Ingest's metrics: what became of each story, and how long parsing took, by format.

Written in one pipelined round trip per wire item (``shared.metrics.record``); a quarantine is
counted inside the quarantine's own transaction (``store.quarantine``), so copy the API refuses
at once is counted as well as copy a worker could not parse.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.ingest.draft import Draft
from shared import metrics

#: ``outcome``: new, update, correction, kill, withheld, release, duplicate, stale (per story a
#: wire item holds) or quarantined (per wire item); ``format``: the parser's (a bounded set)
STORIES = metrics.Counter(
    "syndicate_stories_total",
    "Stories ingested, by what became of them (quarantined: raw items that could not be parsed).",
    ("outcome", "format"),
)
PARSE_SECONDS = metrics.Histogram(
    "syndicate_parse_seconds",
    "Time to decode, detect and parse one raw item, by format (unparseable copy included).",
    ("format",),
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

UNKNOWN = "unknown"


def format_of(drafts: Sequence[Draft] = (), error: BaseException | None = None) -> str:
    """The format label of a parse: the drafts' format, else the one the error names (pure)."""
    if drafts:
        return drafts[0].format or UNKNOWN
    return str(getattr(error, "format", None) or UNKNOWN)


def parsed(fmt: str, seconds: float, outcomes: Sequence[str]) -> list[metrics.Write]:
    """The writes for one parsed wire item: its parse time and each story's outcome."""
    writes = [PARSE_SECONDS.observation((fmt,), seconds)]
    writes += [STORIES.increment((outcome, fmt)) for outcome in outcomes]
    return writes


def quarantined(error: BaseException) -> metrics.Write:
    """The write for one raw item quarantined."""
    return STORIES.increment(("quarantined", format_of(error=error)))
