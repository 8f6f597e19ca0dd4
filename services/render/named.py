"""Named feeds from the settings: definitions, validation and the filter they apply.

They live in ``shared.named_feeds`` because publish filters webhooks on them too (one definition,
one matcher for both services); render keeps importing them from here.
"""

from __future__ import annotations

from shared.named_feeds import (
    NAME,
    RESERVED,
    NamedFeed,
    load_named_feeds,
    parse_named_feeds,
)

__all__ = ["NAME", "RESERVED", "NamedFeed", "load_named_feeds", "parse_named_feeds"]
