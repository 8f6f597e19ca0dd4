"""What a parser hands on: one story as the copy gave it, before identity and versioning.

Private to ingest. ``decide.py`` turns a draft into a versioned ``shared.models.Story``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.models import BodyBlock, Contributor, Dateline, Photo

#: what the copy itself says this item is (``None``: nothing said; a new story or an update)
Signal = Literal["update", "correction", "kill", "withhold"]


class Draft(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: str
    headline: str
    section: str | None = None
    summary: str | None = None
    language: str | None = None
    dateline: Dateline | None = None
    body: list[BodyBlock] = Field(default_factory=list)
    photos: list[Photo] = Field(default_factory=list)
    contributors: list[Contributor] = Field(default_factory=list)
    credit_line: str | None = None
    credit_line_parsed: bool = True
    agency: str | None = None
    publisher: str | None = None
    guid: str | None = None
    #: a structured provider field that scopes the guid (NewsML-G2 ``provider``, NITF
    #: ``doc-id@regsrc``); never a value inferred from the content (decide.story_id_for)
    provider: str | None = None
    published: AwareDatetime | None = None
    #: when the agency first created the story (NewsML ``firstCreated``), if it says
    first_created: AwareDatetime | None = None
    signal: Signal | None = None
    correction: str | None = None
    source_version: int | None = None
    links: list[str] = Field(default_factory=list)
