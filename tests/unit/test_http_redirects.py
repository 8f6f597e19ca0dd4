"""``shared.http.Client.get``: redirects followed within limits, every hop checked by the guard,
no https → http; the hops themselves are canned here (the wire is in the integration tests)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from shared.errors import DeliveryError, TargetRefused
from shared.http import Client, Guard, HttpResult
from shared.netguard import check_url


@dataclass
class Canned(Client):
    """A client whose hops answer from a table, each checked by the real guard first."""

    answers: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)
    asked: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        *,
        guard: Guard,
        headers: Mapping[str, str] | None = None,
        **_: Any,
    ) -> HttpResult:
        check_url(
            url,
            allowed=guard.allowed,
            allow_http=guard.allow_http,
            resolver=guard.resolver,
            allow_setting=guard.allow_setting,
            http_setting=guard.http_setting,
        )
        self.asked.append((url, dict(headers or {})))
        status, answer_headers = self.answers.get(url, (200, {}))
        return HttpResult(
            status, answer_headers, b"body of " + url.encode(), 1.0, "192.0.2.1", url=url
        )


def resolver(host: str, _port: int) -> list[Any]:
    import ipaddress

    table = {
        "wire.example": "93.184.215.14",
        "moved.example": "93.184.215.15",
        "inside": "10.0.0.5",
    }
    return [ipaddress.ip_address(table.get(host, host))]


GUARD = Guard(resolver=resolver, allow_http=True, allow_setting="SYNDICATE_SOURCE_ALLOWED_NETWORKS")


def test_redirects_are_followed_and_reported() -> None:
    client = Canned(
        answers={
            "https://wire.example/feed": (301, {"Location": "https://moved.example/feed"}),
            "https://moved.example/feed": (302, {"location": "/today"}),
        }
    )
    got = client.get("https://wire.example/feed", guard=GUARD, headers={"If-None-Match": '"x"'})
    assert got.status == 200 and got.url == "https://moved.example/today"
    assert got.redirects == (
        (301, "https://moved.example/feed"),
        (302, "https://moved.example/today"),
    )
    assert got.body == b"body of https://moved.example/today"
    assert all(h == {"If-None-Match": '"x"'} for _, h in client.asked)


def test_a_redirect_without_location_is_the_answer() -> None:
    client = Canned(answers={"https://wire.example/feed": (302, {})})
    assert client.get("https://wire.example/feed", guard=GUARD).status == 302


def test_at_most_the_limit_of_redirects() -> None:
    answers = {f"https://wire.example/{n}": (307, {"Location": f"/{n + 1}"}) for n in range(9)}
    client = Canned(answers=answers)
    assert client.get("https://wire.example/0", guard=GUARD, max_redirects=9).url.endswith("/9")
    with pytest.raises(DeliveryError, match="more than 3 redirects"):
        client.get("https://wire.example/0", guard=GUARD, max_redirects=3)
    with pytest.raises(DeliveryError, match="more than 0 redirects"):
        client.get("https://wire.example/0", guard=GUARD, max_redirects=0)


def test_every_hop_is_checked_by_the_guard() -> None:
    client = Canned(
        answers={"http://wire.example/feed": (302, {"Location": "http://inside/admin"})}
    )
    with pytest.raises(TargetRefused, match=r"10\.0\.0\.5.*SYNDICATE_SOURCE_ALLOWED_NETWORKS"):
        client.get("http://wire.example/feed", guard=GUARD)
    metadata = Canned(
        answers={"http://wire.example/f": (301, {"Location": "http://169.254.169.254/latest"})}
    )
    with pytest.raises(TargetRefused, match="cloud metadata"):
        metadata.get("http://wire.example/f", guard=GUARD)
    assert [url for url, _ in metadata.asked] == ["http://wire.example/f"]


def test_https_never_becomes_plain_http() -> None:
    client = Canned(
        answers={"https://wire.example/feed": (301, {"Location": "http://wire.example/feed"})}
    )
    with pytest.raises(TargetRefused, match="https must not become plain http"):
        client.get("https://wire.example/feed", guard=GUARD)


def test_an_exhausted_budget_stops_the_fetch() -> None:
    client = Canned(answers={"https://wire.example/feed": (302, {"Location": "/again"})})
    with pytest.raises(DeliveryError, match="timed out"):
        client.get("https://wire.example/feed", guard=GUARD, budget=0.0)
