"""Keeping a feed document under its size limit, pure: shorten the largest entries first.

A document that fits is never touched. One that does not is brought under the limit one step at
a time, each step on the **largest** entry (on a tie, the older one):

1. while some entry can be made smaller, the largest of them is: its body is cut to 6 000
   characters, then 3 000, 1 500, 750, 300 (each cut ends with a link to the full story), then
   to its smallest form (``entries.smallest``: the opening of the body, a short summary, one
   photo);
2. when every entry is as small as it gets, the largest is left out if it is outsized (more than
   twice the median entry: a story that will never fit among the others); otherwise the oldest
   is left out, so a feed keeps its newest entries.

So one oversized story costs that story its length (or, at worst, its place), never the other
entries theirs; and a feed is never emptied while smaller entries fit. Sizes are measured per
entry (the largest of its three formats) and the result is checked by rendering; when the
check fails (an estimate was short) the budget shrinks by the excess and the steps go on.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from services.render.entries import Entry, shortened, smallest
from shared.models import Story

BODY_BUDGETS = (6000, 3000, 1500, 750, 300)  # characters of body, one shortening round each
OUTSIZED = 2.0  # an entry this many times the median is left out before the oldest

Render = Callable[[Sequence[Entry]], dict[str, bytes]]
Size = Callable[[Entry], int]


def _forms(entry: Entry, story: Story) -> Iterator[Entry]:
    """Ever smaller forms of ``entry`` (after the entry itself)."""
    for budget in BODY_BUDGETS:
        short = shortened(entry, story, budget)
        if short.truncated:
            yield short
    yield smallest(entry, story)


@dataclass
class _Slot:
    """One entry of the document and the form it is shown in."""

    position: int  # 0 is the newest
    entry: Entry
    size: int
    forms: Iterator[Entry]
    at_smallest: bool = False
    dropped: bool = False

    def shrink(self, size_of: Size) -> None:
        """Move to the next smaller form (a form that is not smaller is skipped)."""
        for form in self.forms:
            size = size_of(form)
            if size < self.size:
                self.entry, self.size = form, size
                return
        self.at_smallest = True


def _largest(slots: list[_Slot]) -> _Slot:
    return max(slots, key=lambda slot: (slot.size, slot.position))


def _shrink(slots: list[_Slot], budget: int, size_of: Size) -> None:
    """Take steps until the kept entries' sizes add up to at most ``budget``."""
    kept = [slot for slot in slots if not slot.dropped]
    total = sum(slot.size for slot in kept)
    while kept and total > budget:
        shrinkable = [slot for slot in kept if not slot.at_smallest]
        if shrinkable:
            slot = _largest(shrinkable)
            total -= slot.size
            slot.shrink(size_of)
            total += slot.size
            continue
        largest = _largest(kept)
        median = statistics.median(slot.size for slot in kept)
        victim = largest if largest.size > OUTSIZED * median else kept[-1]
        victim.dropped = True
        kept.remove(victim)
        total -= victim.size


def fit(
    entries: Sequence[Entry],
    stories: Sequence[Story],
    render: Render,
    size_of: Size,
    max_bytes: int,
) -> dict[str, bytes]:
    """Render ``entries`` (newest first) with every format at most ``max_bytes``."""
    rendered = render(entries)
    if all(len(body) <= max_bytes for body in rendered.values()):
        return rendered
    overhead = max(len(body) for body in render([]).values())
    slots = [
        _Slot(position=i, entry=entry, size=size_of(entry), forms=_forms(entry, story))
        for i, (entry, story) in enumerate(zip(entries, stories, strict=True))
    ]
    budget = max_bytes - overhead
    while True:  # the budget shrinks every round: at worst every entry goes
        _shrink(slots, budget, size_of)
        kept = [slot.entry for slot in slots if not slot.dropped]
        rendered = render(kept)
        largest = max(len(body) for body in rendered.values())
        if largest <= max_bytes or not kept:
            return rendered
        budget -= largest - max_bytes + max_bytes // 100
