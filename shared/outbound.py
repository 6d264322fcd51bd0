"""Outgoing HTTP to addresses people type in (webhook receivers, external calendars), without SSRF.

The host is resolved once; every address it resolves to must be public (not loopback, private,
link-local, multicast, reserved, ...); the request is then sent to that vetted address, with the
name kept in the Host header and in TLS (SNI and certificate verification). A DNS answer that
changes between the check and the connection (DNS rebinding) therefore cannot point a request
inside the network. FRONTDESK_ALLOW_PRIVATE_WEBHOOKS turns all of this off (tests, intranets).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# The one answer for every address refused, whatever the reason: a loopback or private
# address, a name that resolves to one, a name that does not resolve. Telling them apart
# would let whoever types the URL map the names and addresses of the inside network.
REFUSED = "This address cannot be reached; give a public http(s) address."


class RefusedAddress(Exception):
    """The host is, or resolves to, an address that is not public."""


class Unresolvable(Exception):
    """The host name does not resolve."""


# IPv6 ranges that carry an IPv4 address in their bits, and how to take it out.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215
_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated IPv4-compatible ::a.b.c.d


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4, Teredo, ::a.b.c.d)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client's address (the server's is public by design)
    if address in _NAT64 or address in _COMPATIBLE or address in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: str) -> bool:
    """True for a globally routable IP address (a zone suffix like %eth0 is ignored).

    An IPv6 address that embeds an IPv4 one is public only if both are: Python calls
    64:ff9b::127.0.0.1 or 2002:a00:1:: global, yet a NAT64 or 6to4 relay delivers to the
    loopback or private IPv4 address inside.
    """
    try:
        parsed = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if isinstance(parsed, ipaddress.IPv6Address):
        inner = embedded_ipv4(parsed)
        if inner is not None and not inner.is_global:
            return False
        if parsed in _COMPATIBLE:  # :: and ::1 are not global; ::a.b.c.d is never routed
            return False
    return parsed.is_global


def refusal(url: str, *, allow_private: bool) -> str | None:
    """REFUSED when the URL's host is visibly not public (a literal address or localhost).

    The check made when the URL is entered; names are resolved (and checked again) by `pin`
    when the request is sent.
    """
    if allow_private:
        return None
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return REFUSED
    if host == "localhost" or host.endswith(".localhost"):
        return REFUSED
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return None if is_public(host) else REFUSED


@dataclass(frozen=True)
class Target:
    """Where to send a request for a URL: the URL to give httpx, and what keeps the name."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


def pin(url: str, *, allow_private: bool) -> Target:
    """The request target for `url`, pinned to a vetted public address of its host.

    Raises RefusedAddress (a non-public address) or Unresolvable. With `allow_private` the URL
    is used as it is.
    """
    if allow_private:
        return Target(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if not is_public(host):
            raise RefusedAddress(REFUSED)
        return Target(url)
    try:
        infos = socket.getaddrinfo(host, parts.port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Unresolvable(REFUSED) from exc
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise Unresolvable(REFUSED)
    if not all(is_public(address) for address in addresses):
        raise RefusedAddress(REFUSED)
    address = addresses[0]
    port = f":{parts.port}" if parts.port else ""
    netloc = (f"[{address}]" if ":" in address else address) + port
    return Target(
        parts._replace(netloc=netloc).geturl(),
        headers={"Host": host + port},
        extensions={"sni_hostname": host},
    )
