"""Token scopes, the Authorization header, and settings that print without their secrets."""

from __future__ import annotations

import hmac

import pytest

from shared import auth
from shared.auth import bearer_token, scope_of
from shared.settings import Settings, mask_url_password

ADMIN = ["admin-one", "admin-two"]
INGEST = ["ingest-one"]


@pytest.mark.parametrize(
    ("token", "scope"),
    [
        ("admin-one", "admin"),
        ("admin-two", "admin"),
        ("ingest-one", "ingest"),
        ("ingest-on", None),
        ("ingest-one ", None),
        ("", None),
        ("ADMIN-ONE", None),
    ],
)
def test_scope_of(token: str, scope: str | None) -> None:
    assert scope_of(token, ADMIN, INGEST) == scope


def test_a_token_in_both_lists_is_admin() -> None:
    assert scope_of("both", ["both"], ["both"]) == "admin"


def test_every_token_is_compared_whatever_matches_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """Constant time: the number of comparisons does not depend on which token matched."""
    calls: list[bytes] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append(b)
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", counting)
    for token in ["admin-one", "admin-two", "ingest-one", "nobody"]:
        calls.clear()
        scope_of(token, ADMIN, INGEST)
        assert len(calls) == len(ADMIN) + len(INGEST)


def test_the_admin_scope_grants_everything_ingest_may_do() -> None:
    assert auth.GRANTS["ingest"] < auth.GRANTS["admin"]


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("Bearer   abc  ", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        ("Bearer ", None),
        ("", None),
        (None, None),
    ],
)
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


def test_settings_print_without_tokens_or_a_redis_password() -> None:
    settings = Settings(
        _env_file=None,
        api_tokens="admin-secret-1,admin-secret-2",
        ingest_tokens="ingest-secret-1",
        redis_url="redis://:redis-secret-pw@db.internal:6379/0",
    )
    for text in (repr(settings), str(settings)):
        for secret in ("admin-secret-1", "admin-secret-2", "ingest-secret-1", "redis-secret-pw"):
            assert secret not in text
        assert "db.internal" in text
    assert settings.token_values() == ["admin-secret-1", "admin-secret-2"]
    assert settings.ingest_token_values() == ["ingest-secret-1"]


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
        ("redis://user:pw@host/1", "redis://user:***@host/1"),
        ("redis://host:6379/0", "redis://host:6379/0"),
        ("unix:///tmp/redis.sock", "unix:///tmp/redis.sock"),
    ],
)
def test_mask_url_password(url: str, masked: str) -> None:
    assert mask_url_password(url) == masked
