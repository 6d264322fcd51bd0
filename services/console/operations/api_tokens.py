"""API tokens made from the console (setup, admins): one token registered by its hash at the
three services, shown once; listed and revoked at all three.

A token made here works on booking, consent and notify alike, so the list groups each
service's row for the same token (same role, staff member, name and end) and revoking it
revokes every service's row. `frontdesk token create` still makes one-service tokens for
scripts; those show with only their service.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.console.clients import ConsoleClient
from shared.auth import hash_token, new_token
from shared.db import utcnow
from shared.errors import FrontdeskError, ServiceCallFailed, ServiceUnavailable

log = logging.getLogger("frontdesk.console.api_tokens")

MAX_DAYS = 365


@dataclass
class TokenRow:
    """One token as the setup page lists it, with each service's id for it."""

    name: str
    role: str
    staff_id: int | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    ids: dict[str, int] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The services' ids as one form value: 'booking:3 consent:4 notify:7'."""
        return " ".join(f"{service}:{token_id}" for service, token_id in self.ids.items())


def create_token(
    *,
    clients: Mapping[str, ConsoleClient],
    name: str,
    role: str,
    staff_id: int,
    days: int,
    now: datetime | None = None,
) -> str:
    """Make a token and register it at every service; returns it (shown once, never stored).

    If a service refuses or fails, the services that took it revoke it again at once and the
    error goes on up (503 for a service down): no half-made token is left working. (A revocation
    that fails too leaves a row nobody holds the token of, until its expiry.)
    """
    now = now or utcnow()
    token = new_token("fdt")
    digest = hash_token(token)
    registered: list[ConsoleClient] = []
    try:
        for client in clients.values():
            client.register_token(
                token_hash=digest,
                role=role,
                staff_id=staff_id,
                name=name,
                expires_at=now + timedelta(days=days),
            )
            registered.append(client)
    except (ServiceCallFailed, FrontdeskError) as exc:
        for client in registered:
            try:
                client.revoke_tokens({"token_hash": digest})
            except (ServiceCallFailed, FrontdeskError):
                log.warning("a half-made API token was not revoked", extra={"error": str(exc)})
        if isinstance(exc, ServiceCallFailed):
            raise ServiceUnavailable(
                "A service did not answer; no token was made. Try again in a minute.",
                code="services_unavailable",
            ) from exc
        raise
    return token


def list_tokens(*, clients: Mapping[str, ConsoleClient]) -> list[TokenRow]:
    """Every service's tokens, the rows of one token (made here) grouped, newest first."""
    rows: dict[tuple, TokenRow] = {}
    for service, client in clients.items():
        for token in client.list_tokens():
            key: tuple = (token["name"], token["role"], token["staff_id"], token["expires_at"])
            if key in rows and service in rows[key].ids:  # a look-alike at the same service
                key = (*key, service, token["id"])
            row = rows.get(key)
            if row is None:
                row = rows[key] = TokenRow(
                    name=token["name"],
                    role=token["role"],
                    staff_id=token["staff_id"],
                    created_at=_instant(token["created_at"]),
                    expires_at=_instant(token["expires_at"]),
                    revoked_at=_instant(token["revoked_at"]),
                )
            row.ids[service] = token["id"]
            row.revoked_at = row.revoked_at or _instant(token["revoked_at"])
    return sorted(rows.values(), key=lambda row: row.created_at, reverse=True)


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def parse_key(key: str, services: set[str]) -> dict[str, int]:
    """A TokenRow.key back to each service's id (unknown services and junk are left out)."""
    ids: dict[str, int] = {}
    for part in key.split():
        service, _, token_id = part.partition(":")
        if service in services and token_id.isdigit():
            ids[service] = int(token_id)
    return ids


def revoke_token(*, clients: Mapping[str, ConsoleClient], ids: Mapping[str, int]) -> None:
    """Revoke a token at each service that has it (by that service's id)."""
    for service, token_id in ids.items():
        clients[service].revoke_token(token_id)


__all__ = ["MAX_DAYS", "TokenRow", "create_token", "list_tokens", "parse_key", "revoke_token"]
