"""Stories the feed tests build themselves: every feature a feed must carry, made-up text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.models import BodyBlock, Contributor, Dateline, Photo, Story

T0 = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
BASE = "http://feeds.test"


def rich_story(n: int, **changes: object) -> Story:
    """A story with a dateline, headings, photos (one with a URL, one credit only), reporting,
    writing and editing credits, a section and an agency."""
    story = Story(
        id=f"st_{n}",
        version=1,
        language="en",
        headline=f"Harbour Seals Return To Estuary {n}",
        section="Science",
        summary=f"Survey counts more seals than last year ({n}).",
        dateline=Dateline(place="OSLO", date="2026-03-04", agency="Reuters"),
        body=[
            BodyBlock(text=f"Volunteers counted seals on the sandbanks, story {n}."),
            BodyBlock(type="h2", text="Why It Matters"),
            BodyBlock(text="The colony had shrunk for years."),
        ],
        photos=[
            Photo(
                url=f"https://images.test/seal-{n}.jpg",
                caption="A seal rests on a sandbank.",
                credit="Eva Holm/REUTERS",
            ),
            Photo(caption="Volunteers count seals.", credit="Ola Berg/NTB via REUTERS"),
        ],
        contributors=[
            Contributor(name="Ana Lima", role="reporting"),
            Contributor(name="Bo Chen", role="writing"),
            Contributor(name="Cy Dore", role="editing"),
            Contributor(name="Di Ewa", role="photography"),
        ],
        credit_line="Reporting by Ana Lima; Writing by Bo Chen; Editing by Cy Dore",
        agency="Reuters",
        publisher="Coastal Courier",
        first_published=T0 + timedelta(minutes=n),
        updated=T0 + timedelta(minutes=n),
        content_hash=f"hash-{n}",
    )
    return story.model_copy(update=changes)
