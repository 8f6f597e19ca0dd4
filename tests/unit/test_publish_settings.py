"""The publish settings of issue #5: defaults, comma lists, lease bounds."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.settings import Settings
from tests.unit.test_settings import make


def test_publish_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make(monkeypatch)
    assert settings.webhook_max_in_flight == 4
    assert settings.webhook_max_in_flight_quick == 16
    assert settings.webhook_slow_answer_seconds == 1.0
    assert settings.webhook_disable_after_seconds == 5 * 86400
    assert settings.webhook_secret_grace_seconds == 86400
    assert settings.websub_leases == (864000, 3600, 2592000)
    assert settings.websub_publish_hubs == []
    # Svix's schedule, written out: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h
    assert settings.webhook_retry_schedule == [0, 5, 300, 1800, 7200, 18000, 36000, 36000]
    assert settings.delivery_retention_seconds == 30 * 86400
    assert (settings.webhook_connect_timeout, settings.webhook_read_timeout) == (3, 10)


def test_publish_hubs_are_a_comma_list_of_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make(
        monkeypatch, WEBSUB_PUBLISH_HUBS="https://pubsubhubbub.example/, http://hub.local:8080/"
    )
    assert settings.websub_publish_hubs == [
        "https://pubsubhubbub.example/",
        "http://hub.local:8080/",
    ]
    with pytest.raises(ValidationError, match="not an http"):
        make(monkeypatch, WEBSUB_PUBLISH_HUBS="hub.example")


def test_lease_bounds_order_themselves(monkeypatch: pytest.MonkeyPatch) -> None:
    odd = make(
        monkeypatch,
        WEBSUB_LEASE_SECONDS="10",
        WEBSUB_LEASE_MIN_SECONDS="600",
        WEBSUB_LEASE_MAX_SECONDS="60",
    )
    assert odd.websub_leases == (60, 60, 600)


def test_in_flight_must_be_positive(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError):
        make(monkeypatch, WEBHOOK_MAX_IN_FLIGHT="0")
    assert isinstance(make(monkeypatch, WEBHOOK_MAX_IN_FLIGHT="1"), Settings)


def test_retention_must_be_positive(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError):
        make(monkeypatch, DELIVERY_RETENTION_SECONDS="0")
    assert make(monkeypatch, DELIVERY_RETENTION_SECONDS="60").delivery_retention_seconds == 60
