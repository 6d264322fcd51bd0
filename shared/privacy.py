"""What every service's personal-data routes share: the request and result schemas, the
pseudonym that replaces an erased address, and the daily worker that applies retention.

Each service decides what it erases and keeps (services/<svc>/privacy.py); this module holds
only the shapes and the plumbing, so the three answer alike.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import marshmallow as ma

from shared.db import Database
from shared.fields import PhoneNumber
from shared.workers import Worker

log = logging.getLogger("frontdesk.privacy")

ERASED = "erased"
# How often `frontdesk worker retention-<service>` applies its service's retention periods.
RETENTION_INTERVAL = timedelta(days=1)
ROLES = ("admin", "service")


class ClientLookupSchema(ma.Schema):
    """Whose data: the client's email address; for notify also the client's phone numbers and
    the idempotency keys of the messages other services sent about them.

    Sent in the body (never the query string) so the address stays out of proxy logs.
    """

    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=320))
    phones = ma.fields.List(PhoneNumber(), load_default=list, validate=ma.validate.Length(max=50))
    message_keys = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(1, 200)),
        load_default=list,
        validate=ma.validate.Length(max=2000),
    )


class ClientExportSchema(ma.Schema):
    """Everything one service holds about a client, as plain JSON."""

    service = ma.fields.String(required=True)
    email = ma.fields.String(required=True)
    data = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw(), required=True)


class ErasureSchema(ma.Schema):
    """What one service erased and kept for a client, with the reason for what it kept."""

    service = ma.fields.String(required=True)
    erased = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True)
    kept = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True)
    reasons = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), required=True)


def pseudonym(secret: str, value: str) -> str:
    """A keyed hash standing in for an erased address: equal addresses give equal pseudonyms,
    and without the secret key nobody can test a guessed address against it."""
    digest = hmac.new(secret.encode(), value.strip().lower().encode(), hashlib.sha256)
    return f"{ERASED}:{digest.hexdigest()[:32]}"


def daily(apply: Callable[..., dict[str, Any]]) -> Worker:
    """A worker applying `apply(session=, config=)` now and then once a day.

    One transaction per pass; a failed pass is logged and tried again the next day.
    """

    def step(database: Database, clients: Any, settings: Mapping[str, Any]) -> int:
        kind = f"retention-{settings['SERVICE_NAME']}"
        with database.transaction() as session:
            counts = apply(session=session, config=settings)
        log.info("retention applied", extra={"worker": kind, "counts": counts})
        return 0  # nothing more to do until tomorrow

    return Worker(step=step, idle=RETENTION_INTERVAL.total_seconds())
