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


class RefusedAddress(Exception):
    """The host is, or resolves to, an address that is not public."""


class Unresolvable(Exception):
    """The host name does not resolve."""


def is_public(address: str) -> bool:
    """True for a globally routable IP address (a zone suffix like %eth0 is ignored)."""
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_global
    except ValueError:
        return False


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
            raise RefusedAddress("the address is loopback or private")
        return Target(url)
    try:
        infos = socket.getaddrinfo(host, parts.port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Unresolvable("the host name does not resolve") from exc
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise Unresolvable("the host name does not resolve")
    if not all(is_public(address) for address in addresses):
        raise RefusedAddress("the host resolves to a loopback or private address")
    address = addresses[0]
    port = f":{parts.port}" if parts.port else ""
    netloc = (f"[{address}]" if ":" in address else address) + port
    return Target(
        parts._replace(netloc=netloc).geturl(),
        headers={"Host": host + port},
        extensions={"sni_hostname": host},
    )
