"""The SSRF guard refuses every private, special or hidden address unless it is allowed."""

from __future__ import annotations

import ipaddress

import pytest

from shared.errors import TargetRefused
from shared.netguard import blocked_reason, check_url, embedded_ipv4

LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]


@pytest.mark.parametrize(
    ("address", "label"),
    [
        ("127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "metadata"),
        ("169.254.10.10", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("0.0.0.0", "this network"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fd00::1", "unique local"),
        ("::ffff:127.0.0.1", "hidden in"),
        ("::ffff:10.0.0.1", "hidden in"),
        ("64:ff9b::a00:1", "hidden in"),
        ("2002:7f00:1::", "hidden in"),
        ("fd00:ec2::254", "metadata"),
    ],
)
def test_blocked(address: str, label: str) -> None:
    reason = blocked_reason(ipaddress.ip_address(address))
    assert reason is not None
    assert label in reason
    assert "SYNDICATE_WEBHOOK_ALLOWED_NETWORKS" in reason


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_pass(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None


def test_allowlist_lets_a_private_range_through_even_hidden_in_ipv6() -> None:
    assert blocked_reason(ipaddress.ip_address("127.0.0.1"), LOOPBACK) is None
    assert blocked_reason(ipaddress.ip_address("::ffff:127.0.0.1"), LOOPBACK) is None
    assert blocked_reason(ipaddress.ip_address("10.0.0.1"), LOOPBACK) is not None


def test_embedded_ipv4() -> None:
    assert str(embedded_ipv4(ipaddress.ip_address("::ffff:1.2.3.4"))) == "1.2.3.4"
    assert embedded_ipv4(ipaddress.ip_address("1.2.3.4")) is None


def test_name_resolving_to_loopback_is_refused() -> None:
    with pytest.raises(TargetRefused) as info:
        check_url("https://localhost/hook")
    assert "loopback" in info.value.detail


def test_a_name_whose_answers_include_a_private_address_is_refused() -> None:
    def resolver(host: str, port: int) -> list[object]:
        return [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("10.1.1.1")]

    with pytest.raises(TargetRefused):
        check_url("https://partner.example/hook", resolver=resolver)


def test_http_is_refused_unless_allowed_or_inside_the_allowlist() -> None:
    def public(host: str, port: int) -> list[object]:
        return [ipaddress.ip_address("93.184.215.14")]

    with pytest.raises(TargetRefused) as info:
        check_url("http://partner.example/hook", resolver=public)
    assert "SYNDICATE_WEBHOOK_ALLOW_HTTP" in info.value.detail
    assert check_url("http://partner.example/hook", resolver=public, allow_http=True).port == 80
    target = check_url("http://127.0.0.1:9/hook", allowed=LOOPBACK)
    assert str(target.address) == "127.0.0.1"


@pytest.mark.parametrize(
    "url",
    ["ftp://x.example/", "https:///nohost", "https://user:pw@x.example/", "file:///etc/passwd"],
)
def test_malformed_targets(url: str) -> None:
    with pytest.raises(TargetRefused):
        check_url(url)


@pytest.mark.parametrize(
    "url",
    ["http://[::1", "http://[x]/", "http://a]b/", "https://[::1]:99999/", "http://\u2100.com/"],
)
def test_a_url_that_does_not_parse_is_refused_with_a_reason(url: str) -> None:
    with pytest.raises(TargetRefused) as refused:
        check_url(url, allowed=LOOPBACK, resolver=lambda host, port: [])
    # the URL itself is not echoed (it may carry a password); the reason is given
    assert "not a valid URL" in refused.value.detail or "invalid port" in refused.value.detail
