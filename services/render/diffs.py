"""What a WebSub push of a feed change carries: the entries new or changed since the change
announced before it.

A push of the whole document (50 entries) lets a subscriber miss entries: a busy feed can turn
over between two pushes, and a push whose bytes were replaced before it went out is skipped for
the newer one. WebSub lets a hub "reduce the payload to a diff between two consecutive versions
if its format allows it", and feed formats do: a document with fewer entries. So each announced
render of a subscription document is compared with the one announced before it (by entry marks,
``story id@version``: a new story and a new version of one both count), and the entries that
differ make the push. A change that adds or changes no entry (a removal, the feed's own data)
has no diff: the whole document goes out, as it does when nothing was announced before.

A story can also join a feed below its newest entries: copy that arrives late for its date
(feeds are ordered by date), or a new version of a story already on an archive page. Render
notes each story that joins or changes in a pushed feed (its *arrivals*), and the next diff
carries those not in the document too, so a subscriber is pushed every new story and version.
Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.render.entries import Tombstone
from shared.models import Story


@dataclass(frozen=True)
class Diff:
    stories: tuple[Story, ...]
    tombstones: tuple[Tombstone, ...]


def story_mark(story: Story) -> str:
    return f"{story.id}@{story.version}"


def tombstone_mark(tombstone: Tombstone) -> str:
    return f"-{tombstone.ref}"


def marks(shown: Sequence[Story], tombstones: Sequence[Tombstone]) -> list[str]:
    """What a render is recorded as, for the next diff."""
    return [*(story_mark(s) for s in shown), *(tombstone_mark(t) for t in tombstones)]


def diff(
    previous: frozenset[str] | None,
    shown: Sequence[Story],
    tombstones: Sequence[Tombstone],
    arrived: Sequence[Story] = (),
) -> Diff | None:
    """The entries of this render that the previous announced one lacked, with the stories that
    ``arrived`` since but are not in the document (newest first, by date as the feed orders
    them), and the tombstones the previous one lacked; ``None`` when there is nothing to
    compare with or no entry is new."""
    if previous is None:
        return None
    fresh = [s for s in shown if story_mark(s) not in previous]
    in_document = {s.id for s in shown}
    below = {s.id: s for s in arrived if s.id not in in_document}
    if not fresh and not below:
        return None
    stories = sorted(
        [*fresh, *below.values()], key=lambda s: (s.first_published, s.id), reverse=True
    )
    gone = tuple(t for t in tombstones if tombstone_mark(t) not in previous)
    return Diff(tuple(stories), gone)
