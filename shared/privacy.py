"""What every service's personal-data routes share: the request and result schemas, the
routes themselves (`privacy_blueprint`), the pseudonym that replaces an erased address, and the
daily loop that applies retention.

Each service decides what it erases and keeps (services/<svc>/privacy.py, Flask-free
operations with one signature in every service); this module holds only the shapes and the
plumbing, so the three answer alike.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from sqlalchemy.orm import Session

from shared import db
from shared.actors import Actor
from shared.api import Blueprint
from shared.auth import current_principal, require
from shared.db import Database
from shared.fields import PhoneNumber
from shared.workers import Worker

log = logging.getLogger("frontdesk.privacy")

ERASED = "erased"
# How often `frontdesk worker retention-<service>` applies its service's retention periods.
RETENTION_INTERVAL = timedelta(days=1)
ROLES = ("admin", "service")


@dataclass(frozen=True)
class ClientLookup:
    """Whose data: the client's email address and/or phone numbers (E.164; a phone-only
    client has no address); for consent also the ids of their booking appointments, for
    notify the idempotency keys of the messages the other services sent about them."""

    email: str | None = None
    phones: tuple[str, ...] = ()
    message_keys: tuple[str, ...] = ()
    appointment_ids: tuple[int, ...] = ()


class ExportClient(Protocol):
    """Every service's `privacy.export_client`."""

    def __call__(
        self, *, session: Session, client: ClientLookup, config: Mapping[str, Any]
    ) -> dict[str, Any]: ...


class EraseClient(Protocol):
    """Every service's `privacy.erase_client`."""

    def __call__(
        self, *, session: Session, client: ClientLookup, actor: Actor, config: Mapping[str, Any]
    ) -> dict[str, Any]: ...


class ClientLookupSchema(ma.Schema):
    """Whose data: the client's email address, their phone numbers, or both (a client who
    booked with a phone only is found by it); for consent also the ids of their booking
    appointments, for notify the idempotency keys of the messages other services sent about
    them.

    Sent in the body (never the query string) so the address stays out of proxy logs. A phone
    number needs its country code: erasing by the last digits could reach somebody else.
    """

    email = ma.fields.Email(
        load_default=None, allow_none=True, validate=ma.validate.Length(max=320)
    )
    phones = ma.fields.List(PhoneNumber(), load_default=list, validate=ma.validate.Length(max=50))
    message_keys = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(1, 200)),
        load_default=list,
        validate=ma.validate.Length(max=2000),
    )
    appointment_ids = ma.fields.List(
        ma.fields.Integer(strict=True, validate=ma.validate.Range(1, 2**31 - 1)),
        load_default=list,
        validate=ma.validate.Length(max=2000),
    )

    @ma.validates_schema
    def _someone(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data.get("email") and not data.get("phones"):
            raise ma.ValidationError("Give the client's email address or phone number.", "email")


# The look-up as the OpenAPI document gives it: an address or at least one number.
LOOKUP_BODY_DOCS = {
    "allOf": [
        ClientLookupSchema,
        {
            "anyOf": [
                {"required": ["email"], "properties": {"email": {"type": "string"}}},
                {"required": ["phones"], "properties": {"phones": {"minItems": 1}}},
            ]
        },
    ]
}
LOOKUP_DOC = {"requestBody": {"content": {"application/json": {"schema": LOOKUP_BODY_DOCS}}}}


class ClientExportSchema(ma.Schema):
    """Everything one service holds about a client, as plain JSON."""

    service = ma.fields.String(required=True)
    email = ma.fields.String(required=True, allow_none=True)
    phones = ma.fields.List(ma.fields.String(), required=True)
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


def privacy_blueprint(*, export: ExportClient, erase: EraseClient) -> Blueprint:
    """The `/api/v1/privacy` routes (admin and service tokens) over a service's operations; each
    route's summary is the first line of its operation's docstring."""
    blp = Blueprint(
        "privacy",
        __name__,
        url_prefix="/api/v1/privacy",
        description="A client's personal data: export and erasure (admin)",
    )

    def lookup(data: dict[str, Any]) -> ClientLookup:
        return ClientLookup(
            email=data["email"],
            phones=tuple(data["phones"]),
            message_keys=tuple(data["message_keys"]),
            appointment_ids=tuple(data["appointment_ids"]),
        )

    @blp.route("/clients/export")
    class ClientExport(MethodView):
        @blp.arguments(ClientLookupSchema)
        @blp.response(200, ClientExportSchema)
        @blp.doc(**_summary(export), **LOOKUP_DOC)
        @require(*ROLES)
        def post(self, data):
            return export(session=db.session(), client=lookup(data), config=current_app.config)

    @blp.route("/clients/erase")
    class ClientErasure(MethodView):
        @blp.arguments(ClientLookupSchema)
        @blp.response(200, ErasureSchema)
        @blp.doc(**_summary(erase), **LOOKUP_DOC)
        @require(*ROLES)
        def post(self, data):
            principal = current_principal()
            return erase(
                session=db.session(),
                client=lookup(data),
                actor=Actor(principal.role, principal.staff_id),
                config=current_app.config,
            )

    return blp


def _summary(operation: Callable[..., Any]) -> dict[str, str]:
    lines = (operation.__doc__ or "").strip().split("\n\n", 1)
    doc = {"summary": " ".join(lines[0].split())}
    if len(lines) > 1:
        doc["description"] = " ".join(lines[1].split())
    return doc


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
