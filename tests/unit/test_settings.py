from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.errors import ConfigurationError
from shared.settings import DEFAULT_RETRY_SCHEDULE, Settings


def make(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name in ("SYNDICATE_" + k.upper() for k in Settings.model_fields):
        monkeypatch.delenv(name, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(f"SYNDICATE_{key}", value)
    return Settings()


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make(monkeypatch)
    assert settings.redis_url is None
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.data_dir == Path("./var")
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.api_tokens == []
    assert settings.webhook_allowed_networks == []
    assert settings.webhook_retry_schedule == list(DEFAULT_RETRY_SCHEDULE)
    assert settings.max_body_bytes == 1024 * 1024


def test_comma_separated_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make(
        monkeypatch,
        API_TOKENS="a, b,,c",
        WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8, 10.1.2.3/8,::1/128",
        WEBHOOK_RETRY_SCHEDULE="0,1.5,60",
    )
    assert settings.token_values() == ["a", "b", "c"]
    assert settings.webhook_allowed_networks == [
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    ]
    assert settings.webhook_retry_schedule == [0, 1.5, 60]


def test_tokens_are_secret_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "hunter2" not in repr(make(monkeypatch, API_TOKENS="hunter2"))


def test_public_url_wins_and_wildcard_hosts_become_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert (
        make(monkeypatch, PUBLIC_URL="https://feeds.example/").base_url == "https://feeds.example"
    )
    assert make(monkeypatch, HOST="0.0.0.0", PORT="9000").base_url == "http://127.0.0.1:9000"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "70000"),
        ("WEBHOOK_RETRY_SCHEDULE", "1,-5"),
        ("WEBHOOK_ALLOWED_NETWORKS", "not-a-net"),
    ],
)
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    with pytest.raises(ValidationError):
        make(monkeypatch, **{name: value})


def test_effective_redis_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert make(monkeypatch, REDIS_URL="redis://x:1/0").effective_redis_url() == "redis://x:1/0"
    settings = make(monkeypatch, DATA_DIR=str(tmp_path))
    with pytest.raises(ConfigurationError, match="syndicate up"):
        settings.effective_redis_url()
    settings.redis_url_file.write_text("redis://127.0.0.1:7777/0\n")
    assert settings.effective_redis_url() == "redis://127.0.0.1:7777/0"
