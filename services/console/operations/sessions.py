"""Console sessions: a session is an API token, registered by its hash at the three services.

The cookie holds the token; every page calls the services with it, so the services decide what
the person may see. The console keeps the session's hash for idle expiry (30 minutes) and the
absolute one (12 hours, also enforced by every service through the token's `expires_at`).
Ending a session revokes it here at once and queues its revocation at the three services.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.console import outbox
from services.console.clients import Clients
from services.console.models import ConsoleSession
from shared.auth import hash_token, new_token
from shared.db import utcnow
from shared.errors import FrontdeskError, ServiceCallFailed, ServiceUnavailable

log = logging.getLogger("frontdesk.console.sessions")

ABSOLUTE = timedelta(hours=12)
IDLE = timedelta(minutes=30)
# last_seen_at is written at most this often (not a write on every page view).
SEEN_RESOLUTION = timedelta(minutes=1)


def start_session(
    *, session: Session, clients: Clients, staff: Mapping[str, Any], now: datetime | None = None
) -> str:
    """Open a session for a booking staff record: register its token at the three services
    (any one failing: none keeps it, 503), store its hash, return the token for the cookie."""
    now = now or utcnow()
    token = new_token("fdp")  # a person's console session
    digest = hash_token(token)
    role = "admin" if staff.get("role") == "admin" else "staff"
    expires_at = now + ABSOLUTE
    registered = []
    try:
        for client in clients.every().values():
            client.register_token(
                token_hash=digest,
                role=role,
                staff_id=staff["id"],
                name=f"console session of {staff['name']}"[:200],
                expires_at=expires_at,
            )
            registered.append(client)
    except (ServiceCallFailed, FrontdeskError) as exc:
        log.warning("console session not registered", extra={"error": str(exc)[:200]})
        # Revoked at once where it was taken (an outbox row would roll back with the 503). The
        # token itself never left this function, so one a service could not revoke now is of
        # no use to anyone and ends at its absolute expiry.
        for client in registered:
            try:
                client.revoke_tokens({"token_hash": digest})
            except (ServiceCallFailed, FrontdeskError, httpx.HTTPError):
                log.warning("unused console token left to expire")
        raise ServiceUnavailable(
            "Signing in needs every service; one did not answer. Try again in a minute.",
            code="services_unavailable",
        ) from exc
    session.add(
        ConsoleSession(
            token_hash=digest,
            staff_id=staff["id"],
            role=role,
            name=staff["name"],
            time_zone=staff["time_zone"],
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    return token


def resolve(*, session: Session, token: str, now: datetime | None = None) -> ConsoleSession | None:
    """The live session of a cookie's token, its last use noted; None when there is none.

    A session idle too long ends here, and its token is revoked at the services too (they
    only know its absolute end).
    """
    now = now or utcnow()
    found = session.scalar(
        sa.select(ConsoleSession).where(
            ConsoleSession.token_hash == hash_token(token), ConsoleSession.revoked_at.is_(None)
        )
    )
    if found is None or found.expires_at <= now:
        return None
    if now - found.last_seen_at > IDLE:
        end_session(session=session, console_session=found, now=now)
        return None
    if now - found.last_seen_at >= SEEN_RESOLUTION:
        found.last_seen_at = now
        session.flush()
    return found


def end_session(
    *, session: Session, console_session: ConsoleSession, now: datetime | None = None
) -> None:
    """Sign out: the console stops accepting the token now, the services once the queued
    revocations arrive (at once, unless a service is down)."""
    console_session.revoked_at = now or utcnow()
    outbox.enqueue_revocation(session=session, target={"token_hash": console_session.token_hash})
    session.flush()


def end_every_session(*, session: Session, staff_id: int, now: datetime | None = None) -> int:
    """Sign out everywhere: every console session of the staff member, and every token of
    theirs at the three services. Returns how many console sessions ended."""
    now = now or utcnow()
    ended = session.execute(
        sa.update(ConsoleSession)
        .where(ConsoleSession.staff_id == staff_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    outbox.enqueue_revocation(session=session, target={"staff_id": staff_id})
    session.flush()
    return ended
