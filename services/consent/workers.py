"""Consent's background workers, run by `frontdesk worker KIND` (kind -> Worker)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.consent import outbox, privacy
from services.consent.clients import Clients
from services.consent.operations.requests import expire_overdue
from shared.db import Database
from shared.privacy import daily
from shared.workers import Worker


def deliver_and_expire(database: Database, clients: Clients, settings: Mapping[str, Any]) -> int:
    """Expire overdue requests, then deliver the due outbox items; returns how many went out."""
    with database.transaction() as session:
        expire_overdue(session=session)
    return outbox.dispatch(database, clients, settings)


WORKERS: dict[str, Worker] = {
    "consent": Worker(step=deliver_and_expire, idle=1.0),
    "retention-consent": daily(privacy.apply_retention),
}
