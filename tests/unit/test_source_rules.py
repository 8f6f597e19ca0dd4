"""What a source may be (pure rules, no Redis): a feed or a folder, a minimum interval, formats,
the SSRF guard on URLs, folders under a root; and the source settings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.ingest.sources.manage import build, changed
from services.ingest.sources.model import MAX_INTERVAL_SECONDS, SourceIn, SourcePatch
from shared.errors import InvalidInput, TargetRefused
from shared.settings import Settings

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)


def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> Settings:
    for name in ("SYNDICATE_" + k.upper() for k in Settings.model_fields):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SYNDICATE_DATA_DIR", str(tmp_path))
    for key, value in env.items():
        monkeypatch.setenv(f"SYNDICATE_{key}", value)
    return Settings()


@pytest.fixture
def loose(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    return settings(
        monkeypatch,
        tmp_path,
        SOURCE_ALLOWED_NETWORKS="127.0.0.0/8",
        SOURCE_MIN_INTERVAL_SECONDS="30",
        SOURCE_DEFAULT_INTERVAL_SECONDS="120",
    )


def test_a_feed_source(loose: Settings) -> None:
    source = build(
        SourceIn(name=" Wire ", url="http://127.0.0.1:9/feed", agency="reuters"), loose, NOW
    )
    assert (
        source.kind == "feed" and source.name == "Wire" and source.url == "http://127.0.0.1:9/feed"
    )
    assert source.agency == "Reuters"  # spelt the one way
    assert source.interval_seconds == 120 and source.format == "auto" and source.enabled
    assert source.id.startswith("src_") and source.created_at == NOW


def test_a_folder_source_lives_under_a_root(loose: Settings, tmp_path: Path) -> None:
    path = tmp_path / "drop" / "dpa"
    source = build(SourceIn(name="dpa", path=str(path), format="iptc7901"), loose, NOW)
    assert source.kind == "folder" and source.path == str(path.resolve())
    with pytest.raises(InvalidInput, match="SYNDICATE_SOURCE_FOLDER_ROOTS"):
        build(SourceIn(name="etc", path="/etc"), loose, NOW)


def test_a_url_or_a_path_never_both_nor_neither(loose: Settings, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="either url"):
        build(SourceIn(name="x"), loose, NOW)
    with pytest.raises(InvalidInput, match="either url"):
        build(
            SourceIn(name="x", url="http://127.0.0.1/", path=str(tmp_path / "drop/x")), loose, NOW
        )


def test_the_interval_has_a_minimum(loose: Settings) -> None:
    with pytest.raises(InvalidInput, match="SYNDICATE_SOURCE_MIN_INTERVAL_SECONDS"):
        build(SourceIn(name="x", url="http://127.0.0.1/", interval_seconds=29), loose, NOW)
    assert build(SourceIn(name="x", url="http://127.0.0.1/", interval_seconds=30), loose, NOW)


def test_formats_a_source_can_be_read_as(loose: Settings, tmp_path: Path) -> None:
    for fmt in ("auto", "rss", "atom", "jsonfeed"):
        assert build(SourceIn(name="x", url="http://127.0.0.1/", format=fmt), loose, NOW)
    with pytest.raises(InvalidInput, match="feed can be read as"):
        build(SourceIn(name="x", url="http://127.0.0.1/", format="nitf"), loose, NOW)
    folder = str(tmp_path / "drop" / "x")
    for fmt in ("auto", "nitf", "text", "anpa1312", "rss"):
        assert build(SourceIn(name="x", path=folder, format=fmt), loose, NOW)
    with pytest.raises(InvalidInput, match="drop folder can be read as"):
        build(SourceIn(name="x", path=folder, format="wordperfect"), loose, NOW)


def test_source_urls_pass_the_ssrf_guard_with_their_own_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    strict = settings(monkeypatch, tmp_path, WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8")
    with pytest.raises(TargetRefused, match="SYNDICATE_SOURCE_ALLOWED_NETWORKS"):
        build(SourceIn(name="x", url="http://127.0.0.1/feed"), strict, NOW)  # webhooks' is not ours
    with pytest.raises(TargetRefused, match="cloud metadata"):
        build(SourceIn(name="x", url="http://169.254.169.254/latest"), strict, NOW)
    with pytest.raises(TargetRefused, match="only http and https"):
        build(SourceIn(name="x", url="file:///etc/passwd"), strict, NOW)
    no_http = settings(monkeypatch, tmp_path, SOURCE_ALLOW_HTTP="false")
    with pytest.raises(TargetRefused, match="SYNDICATE_SOURCE_ALLOW_HTTP"):
        build(SourceIn(name="x", url="http://93.184.215.14/feed"), no_http, NOW)
    assert build(SourceIn(name="x", url="http://93.184.215.14/feed"), strict, NOW)  # http is fine


def test_changes_are_checked_like_a_new_source(loose: Settings, tmp_path: Path) -> None:
    feed = build(SourceIn(name="x", url="http://127.0.0.1/a"), loose, NOW)
    later = datetime(2026, 9, 2, tzinfo=UTC)
    moved = changed(feed, SourcePatch(url="http://127.0.0.2/b", interval_seconds=60), loose, later)
    assert moved.url == "http://127.0.0.2/b" and moved.interval_seconds == 60
    assert moved.updated_at == later and moved.created_at == NOW
    with pytest.raises(InvalidInput, match="a feed has a url"):
        changed(feed, SourcePatch(path=str(tmp_path / "drop/x")), loose, later)
    with pytest.raises(InvalidInput, match="MIN_INTERVAL"):
        changed(feed, SourcePatch(interval_seconds=1), loose, later)
    with pytest.raises(InvalidInput, match="cannot be null"):
        changed(feed, SourcePatch(name=None, url=None, enabled=None), loose, later)
    off = changed(feed, SourcePatch(enabled=False), loose, later)
    assert not off.enabled and off.disabled_reason and "by a user" in off.disabled_reason
    assert changed(off, SourcePatch(enabled=True), loose, later).disabled_reason is None
    assert changed(feed, SourcePatch(agency=None), loose, later).agency is None


def test_source_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    defaults = settings(monkeypatch, tmp_path)
    assert defaults.source_min_interval_seconds == 60
    assert defaults.source_allow_http is True and defaults.source_allowed_networks == []
    assert defaults.source_roots == [(tmp_path / "drop").resolve()]
    given = settings(
        monkeypatch,
        tmp_path,
        SOURCE_FOLDER_ROOTS=f"{tmp_path}/a, {tmp_path}/b",
        SOURCE_ALLOWED_NETWORKS="10.1.2.3/8,::1/128",
    )
    assert given.source_roots == [(tmp_path / "a").resolve(), (tmp_path / "b").resolve()]
    assert [str(n) for n in given.source_allowed_networks] == ["10.0.0.0/8", "::1/128"]


def test_the_interval_has_a_maximum_of_thirty_days() -> None:
    """A longer one would plan polls no date can hold (every poll raised OverflowError)."""
    assert SourceIn(name="x", url="http://127.0.0.1/", interval_seconds=MAX_INTERVAL_SECONDS)
    assert MAX_INTERVAL_SECONDS == 30 * 86400
    for too_long in (MAX_INTERVAL_SECONDS + 1, 10**18):
        with pytest.raises(ValidationError, match="interval_seconds"):
            SourceIn(name="x", url="http://127.0.0.1/", interval_seconds=too_long)
        with pytest.raises(ValidationError, match="interval_seconds"):
            SourcePatch(interval_seconds=too_long)


@pytest.mark.parametrize("blank", [" ", "   ", "\u2003", " \u00a0 "])
def test_a_name_is_more_than_spaces(loose: Settings, blank: str) -> None:
    with pytest.raises(InvalidInput, match="blank"):
        build(SourceIn(name=blank, url="http://127.0.0.1/"), loose, NOW)
    feed = build(SourceIn(name="x", url="http://127.0.0.1/"), loose, NOW)
    with pytest.raises(InvalidInput, match="blank"):
        changed(feed, SourcePatch(name=blank), loose, NOW)


@pytest.mark.parametrize("control", ["\x00", "\n", "\r", "\t", "\x1b", "\x7f", "\x85"])
def test_control_characters_are_refused_in_urls_paths_and_names(
    loose: Settings, tmp_path: Path, control: str
) -> None:
    with pytest.raises(InvalidInput, match="url holds a control character") as refused:
        build(SourceIn(name="x", url=f"http://127.0.0.1/{control}feed"), loose, NOW)
    assert "127.0.0.1" not in refused.value.detail  # the URL is not echoed
    with pytest.raises(InvalidInput, match="path holds a control character"):
        build(SourceIn(name="x", path=f"{tmp_path}/drop/a{control}b"), loose, NOW)
    with pytest.raises(InvalidInput, match="name holds a control character"):
        build(SourceIn(name=f"a{control}b", url="http://127.0.0.1/"), loose, NOW)
    feed = build(SourceIn(name="x", url="http://127.0.0.1/"), loose, NOW)
    with pytest.raises(InvalidInput, match="url holds a control character"):
        changed(feed, SourcePatch(url=f"http://127.0.0.1/{control}"), loose, NOW)
