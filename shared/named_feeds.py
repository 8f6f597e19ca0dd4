"""Named feeds from the settings, pure: definitions, validation and the filter they apply.

Shared because two services ask the same question of it: render (which stories a named feed
shows) and publish (does a story event reach a subscription whose ``filter.feeds`` names such a
feed). One definition, one matcher, so a subscriber filtered on ``energy`` gets exactly the
stories ``/feeds/energy.rss`` shows.

``SYNDICATE_NAMED_FEEDS`` holds JSON, ``SYNDICATE_NAMED_FEEDS_FILE`` a JSON or TOML file, both of
the shape ``{name: {title, description, sections, agencies, contributors, languages, keywords}}``
(TOML: a ``[feeds.<name>]`` table per feed, or top-level tables). Every list is optional; a story
matches when it matches every list that is given (any value in a list will do). Sections, agencies
and contributors compare by slug (``World News`` = ``world-news``); languages by primary subtag
(``en`` matches ``en-GB``); keywords as whole words, case-insensitively, in the headline, summary
and body.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from functools import cached_property, lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.errors import ConfigurationError
from shared.models import Story
from shared.plaintext import plain
from shared.settings import Settings
from shared.slugs import slug

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
RESERVED = frozenset({"all", "sections", "agencies", "contributors"})


def name_slug(value: str) -> str:
    """The slug a section, agency or contributor is compared by (the one its feed is named by):
    ASCII when the name has letters or digits in ASCII transliteration, else a short stable
    hash, so that two names in, say, Chinese or Arabic script never compare equal. Built from
    the plain-text value (markup and control characters gone: copy is untrusted), so
    ``Sport<script>…</script>`` compares as ``sport``."""
    value = plain(value)
    base = slug(value)
    if base != "untitled" or value.casefold() == "untitled":
        return base
    return "n-" + hashlib.sha256(value.casefold().encode("utf-8")).hexdigest()[:12]


class NamedFeed(BaseModel):
    """One named feed and its filter."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    title: str
    description: str = ""
    sections: list[str] = Field(default_factory=list)
    agencies: list[str] = Field(default_factory=list)
    contributors: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value) or value in RESERVED:
            raise ValueError(
                "a feed name is 1-64 lower-case letters, digits and hyphens, and not one of "
                + ", ".join(sorted(RESERVED))
            )
        return value

    @cached_property
    def _keyword_pattern(self) -> re.Pattern[str] | None:
        words = [re.escape(k.strip()) for k in self.keywords if k.strip()]
        if not words:
            return None
        return re.compile(r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)", re.IGNORECASE)

    def matches(self, story: Story) -> bool:
        """Does ``story`` belong in this feed? (``matches(self, story)``)"""
        return matches(self, story)

    def fingerprint(self) -> str:
        """What the feed's index depends on: a changed filter means a rebuilt index."""
        return json.dumps(
            self.model_dump(exclude={"title", "description"}), sort_keys=True, ensure_ascii=False
        )


def matches(feed: NamedFeed, story: Story) -> bool:
    """Does ``story`` belong in the named feed ``feed``?"""
    if feed.sections and name_slug(story.section or "") not in {
        name_slug(s) for s in feed.sections
    }:
        return False
    if feed.agencies and name_slug(story.agency or "") not in {name_slug(a) for a in feed.agencies}:
        return False
    if feed.contributors:
        wanted = {name_slug(c) for c in feed.contributors}
        if not any(name_slug(c.name) in wanted for c in story.contributors):
            return False
    if feed.languages:
        language = (story.language or "").casefold().replace("_", "-")
        if not any(
            language == w.casefold() or language.startswith(w.casefold() + "-")
            for w in feed.languages
        ):
            return False
    pattern = feed._keyword_pattern
    if pattern is not None:
        text = "\n".join(
            [story.headline, story.summary or "", *(block.text for block in story.body)]
        )
        if not pattern.search(text):
            return False
    return True


def parse_named_feeds(text: str | None, *, toml: bool = False) -> list[NamedFeed]:
    """Named feeds from JSON (or TOML) text; ``ConfigurationError`` saying what is wrong."""
    if not text or not text.strip():
        return []
    try:
        raw = tomllib.loads(text) if toml else json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        kind = "TOML" if toml else "JSON"
        raise ConfigurationError(f"named feeds are not valid {kind}: {exc}") from exc
    if isinstance(raw, dict) and set(raw) == {"feeds"} and isinstance(raw["feeds"], dict):
        raw = raw["feeds"]
    if not isinstance(raw, dict):
        raise ConfigurationError("named feeds must be an object of {name: definition}")
    feeds = []
    for name, definition in sorted(raw.items()):
        if not isinstance(definition, dict):
            raise ConfigurationError(f"named feed {name!r}: the definition must be an object")
        try:
            feeds.append(NamedFeed.model_validate({"name": name, **definition}))
        except ValidationError as exc:
            where = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise ConfigurationError(f"named feed {name!r}: {where}") from exc
    return feeds


def load_named_feeds(inline: str | None, path: Path | None) -> list[NamedFeed]:
    """Every named feed of the settings (file first, then the env value; a name in both is an
    error)."""
    feeds: list[NamedFeed] = []
    if path is not None:
        try:
            content = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(f"named feeds file {path} cannot be read: {exc}") from exc
        feeds += parse_named_feeds(content, toml=path.suffix.lower() == ".toml")
    feeds += parse_named_feeds(inline)
    names = [feed.name for feed in feeds]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigurationError(f"named feeds defined twice: {', '.join(duplicates)}")
    return feeds


@lru_cache(maxsize=8)
def _cached(inline: str | None, path: Path | None) -> dict[str, NamedFeed]:
    return {feed.name: feed for feed in load_named_feeds(inline, path)}


def named_feeds(settings: Settings) -> dict[str, NamedFeed]:
    """The named feeds of ``settings`` by name (read and checked once per distinct setting)."""
    return _cached(settings.named_feeds, settings.named_feeds_file)
