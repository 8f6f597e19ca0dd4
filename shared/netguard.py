"""The SSRF guard: which addresses an outbound request (webhook, WebSub callback, source) may reach.

Pure checks plus one resolver. A target's host is resolved once, each address is checked, and the
connection then goes to a checked address (``shared.http`` pins it), so a DNS answer that changes
between check and connect (rebinding) cannot slip past.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.errors import TargetRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
ALLOW_SETTING = "SYNDICATE_WEBHOOK_ALLOWED_NETWORKS"
HTTP_SETTING = "SYNDICATE_WEBHOOK_ALLOW_HTTP"

#: ranges refused unless allowed, each with the name a log reader understands
BLOCKED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(cidr), label)
    for cidr, label in (
        ("169.254.169.254/32", "cloud metadata address"),
        ("0.0.0.0/8", "'this network'"),
        ("10.0.0.0/8", "private network"),
        ("100.64.0.0/10", "carrier-grade NAT"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private network"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("192.168.0.0/16", "private network"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("255.255.255.255/32", "broadcast"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("fd00:ec2::254/128", "cloud metadata address"),
        ("fc00::/7", "unique local (private)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
        ("2001:db8::/32", "documentation"),
        ("100::/64", "discard-only"),
    )
)


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address hidden in an IPv6 one (mapped, compatible, 6to4, NAT64, Teredo)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    packed = ip.packed
    if ip in ipaddress.ip_network("64:ff9b::/96") or ip in ipaddress.ip_network("64:ff9b:1::/48"):
        return ipaddress.IPv4Address(packed[-4:])
    if packed[:12] == bytes(12) and int(ip) > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(packed[-4:])
    return None


def blocked_reason(
    ip: IPAddress, allowed: Sequence[IPNetwork] = (), setting: str = ALLOW_SETTING
) -> str | None:
    """Why ``ip`` may not be reached, or ``None`` when it may (``setting`` names the setting
    that would allow it). Every request asks this of the same few addresses, so the answers
    are remembered (they depend on nothing else)."""
    return _blocked_reason(ip, tuple(allowed), setting)


@functools.lru_cache(maxsize=4096)
def _blocked_reason(ip: IPAddress, allowed: tuple[IPNetwork, ...], setting: str) -> str | None:
    candidates: list[IPAddress] = [ip]
    inner = embedded_ipv4(ip)
    if inner is not None:
        candidates.append(inner)
    for candidate in candidates:
        if any(candidate.version == net.version and candidate in net for net in allowed):
            return None
    for candidate in reversed(candidates):  # the hidden IPv4 address first: its name is clearer
        for network, label in BLOCKED:
            if candidate.version == network.version and candidate in network:
                hidden = f" (hidden in {ip})" if candidate is not ip else ""
                return (
                    f"address {candidate}{hidden} is in {network} ({label}); "
                    f"allow it with {setting}"
                )
    for candidate in candidates:
        if candidate.is_multicast or candidate.is_reserved or candidate.is_unspecified:
            return f"address {candidate} is not a public unicast address; allow it with {setting}"
    return None


def is_allowed_network(ip: IPAddress, allowed: Sequence[IPNetwork]) -> bool:
    return any(ip.version == net.version and ip in net for net in allowed)


@dataclass(frozen=True)
class Target:
    """A URL whose host was resolved and checked: connect to ``address``, say ``host``."""

    scheme: str
    host: str
    port: int
    address: IPAddress
    url: str


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (one lookup)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as exc:  # gaierror, a bad IDNA label, a NUL
        raise TargetRefused(f"host {host!r} does not resolve: {exc}", resource=host) from None
    seen: dict[str, IPAddress] = {}
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]
        seen.setdefault(address, ipaddress.ip_address(address))
    return list(seen.values())


def redact(url: str) -> str:
    """``url`` with any user and password replaced by ``***`` (for messages and logs)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()


def check_url(
    url: str,
    *,
    allowed: Sequence[IPNetwork] = (),
    allow_http: bool = False,
    resolver: object = None,
    allow_setting: str = ALLOW_SETTING,
    http_setting: str = HTTP_SETTING,
) -> Target:
    """Resolve and check ``url``; raise ``TargetRefused`` naming the reason and the settings that
    would allow it (webhooks' by default, sources name their own). Never another exception: the
    URL may come straight from a client."""
    shown = redact(url)  # what errors say: never a password the URL carried
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. "Invalid IPv6 URL" for http://[::1
        raise TargetRefused(f"{shown!r} is not a valid URL", resource=shown) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise TargetRefused(f"{shown!r}: only http and https URLs can be targets", resource=shown)
    if not host:
        raise TargetRefused(f"{shown!r} has no host", resource=shown)
    if parts.username or parts.password:
        raise TargetRefused(f"{shown!r}: credentials in the URL are not allowed", resource=shown)
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise TargetRefused(f"{shown!r} has an invalid port", resource=shown) from None
    lookup = resolver if callable(resolver) else resolve
    addresses: list[IPAddress] = lookup(host, port)
    if not addresses:
        raise TargetRefused(f"host {host!r} has no address", resource=url)
    for address in addresses:
        reason = blocked_reason(address, allowed, allow_setting)
        if reason:
            raise TargetRefused(f"{host} refused: {reason}", resource=url)
    address = addresses[0]
    if scheme == "http" and not allow_http and not is_allowed_network(address, allowed):
        raise TargetRefused(
            f"{url!r}: plain http:// is refused; use https:// or set {http_setting}",
            resource=url,
        )
    return Target(scheme=scheme, host=host, port=port, address=address, url=url)
