"""Timestamps as the formats write them, read into aware datetimes (UTC when no zone is given).

ISO 8601 (``2014-07-16T15:53:10.000Z``, ``…+0000``), the compact ISO of NITF and NewsML 1.2
(``20151210T191044Z``, ``20140829T134951+0000``) and RFC 822 (RSS ``pubDate``). Never raises: a
value that reads as none of these is ``None``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_COMPACT = re.compile(
    r"^(?P<y>\d{4})(?P<m>\d\d)(?P<d>\d\d)(?:T(?P<H>\d\d)(?P<M>\d\d)(?P<S>\d\d)?(?P<z>Z|[+-]\d{4})?)?$"
)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def parse_datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    text = value.strip()
    try:
        if match := _COMPACT.match(text):
            zone = match["z"] or "Z"
            iso = (
                f"{match['y']}-{match['m']}-{match['d']}T{match['H'] or '00'}:{match['M'] or '00'}:"
                f"{match['S'] or '00'}{'+00:00' if zone == 'Z' else zone[:3] + ':' + zone[3:]}"
            )
            return datetime.fromisoformat(iso)
        if re.match(r"^\d{4}-\d\d-\d\d", text):
            text = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", text.replace("Z", "+00:00"))
            return _aware(datetime.fromisoformat(text))
        if re.match(r"^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}", text):
            return _aware(parsedate_to_datetime(text))
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    return None
