"""Settings of the security section (issue #7), and the rule that every setting is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def make(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name in ("SYNDICATE_" + k.upper() for k in Settings.model_fields):
        monkeypatch.delenv(name, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(f"SYNDICATE_{key}", value)
    return Settings()


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make(monkeypatch)
    assert settings.ingest_tokens == []
    assert settings.rate_limit_enabled and not settings.rate_limit_feeds
    assert (settings.rate_limit_token_per_second, settings.rate_limit_token_burst) == (1000, 2000)
    assert settings.rate_limit_anonymous_per_second == 50
    assert settings.rate_limit_anonymous_burst == 200
    assert settings.max_request_bytes == 64 * 1024
    assert settings.forwarded_allow_ips == ["127.0.0.1"]


def test_lists_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make(monkeypatch, INGEST_TOKENS="a, b,,c", FORWARDED_ALLOW_IPS="10.0.0.1, 10.0.0.2")
    assert settings.ingest_token_values() == ["a", "b", "c"]
    assert settings.forwarded_allow_ips == ["10.0.0.1", "10.0.0.2"]
    assert "'a'" not in repr(settings)


@pytest.mark.parametrize(
    "env",
    [
        {"RATE_LIMIT_TOKEN_PER_SECOND": "0"},
        {"RATE_LIMIT_ANONYMOUS_BURST": "0"},
        {"MAX_REQUEST_BYTES": "0"},
    ],
)
def test_limits_must_be_positive(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="greater than"):
        make(monkeypatch, **env)


def test_every_setting_is_in_the_readme_table() -> None:
    table = README.read_text(encoding="utf-8")
    missing = [
        f"SYNDICATE_{name.upper()}"
        for name in Settings.model_fields
        if f"| `SYNDICATE_{name.upper()}` |" not in table
    ]
    assert missing == []
