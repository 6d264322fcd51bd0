"""A client's personal data in consent: export it, erase what the law lets go, restrict the rest,
and apply the retention periods (GDPR arts. 15, 17(3)(b)/(e), 18 and 5(1)(e); PIPEDA 4.5).

A signed consent record is legal evidence: who agreed to what, when. It is kept while the law
may require it, FRONTDESK_RETENTION_CONSENT_RECORD_DAYS (default 7 years) after the consent
ended (signing, or withdrawal when later), then deleted. Erasure therefore means:
- requests never signed (pending, declined, expired): deleted entirely, with their audit trail
  and their outbox calls (a signing link or reminder not sent yet never goes out);
- requests with a signed record: the signed PDF is never rewritten and the hash-chained audit
  trail is kept whole (its hashes cover each event's address and browser, so dropping those
  would make the chain read as tampered, and the signed PDF carries the same evidence); an
  `erasure_requested` event is appended to the chain with the date the record may be deleted;
  everything not needed as evidence is dropped: the client's name, address and phone on the
  request row (the address becomes a keyed hash, `erased:<hmac>`), the copy of the answers
  and drawn signature kept beside the PDF, the signing link (revoked), the bodies of the
  outbox calls; calls not delivered yet are deleted;
- access is restricted from then on: downloading the record (staff route or expiring link),
  making download links, reading the audit trail and withdrawing answer 410 with the code
  `record_restricted`. The record still verifies (POST /verify matches on file hashes).

Retention (`frontdesk worker retention-consent`, daily):
- a signed record past its period is deleted with its request, audit trail and links when the
  client asked for erasure or the consent is no longer in force (withdrawn, or past its
  validity); a consent still in force is the evidence for what is being done and stays;
- a request never signed is deleted FRONTDESK_RETENTION_CONSENT_REQUEST_DAYS after its last
  change once it is declined or expired (or pending past its expiry);
- the bodies of outbox calls delivered (or given up) more than FRONTDESK_RETENTION_MESSAGE_DAYS
  ago are emptied: notify keeps the message's status, the copy here held the address.
0 for either period keeps those rows forever.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.consent.models import (
    AuditEvent,
    ConsentRecord,
    ConsentRequest,
    DownloadLink,
    OutboxItem,
)
from services.consent.operations import forms
from services.consent.operations.audit import record_event
from shared.actors import Actor
from shared.auth import hash_token
from shared.db import reclaim_after_commit, utcnow
from shared.privacy import ClientLookup, pseudonym
from shared.timestamps import utc_iso

log = logging.getLogger("frontdesk.consent.privacy")

ERASURE_EVENT = "erasure_requested"
ERASED_NAME = "erased"
# Events the client does through their own link: only theirs carry their address and browser
# into an export (a staff member's download or attestation is the staff member's data).
CLIENT_EVENT_KINDS = frozenset({"viewed", "disclosure_accepted", "signed", "declined"})
RETENTION_BATCH = 200
KEPT_WHY = (
    "A signed consent record is legal evidence: the signed PDF and its audit trail are kept, "
    "access-restricted, until the retention period for consent records ends; the client's "
    "details beside them are dropped."
)


def requests_of(*, session: Session, client: ClientLookup) -> list[ConsentRequest]:
    """The client's consent requests, oldest first: sent to their address (any case) or one of
    their numbers (E.164), or about one of their booking appointments."""
    matches = []
    if client.email:
        matches.append(sa.func.lower(ConsentRequest.client_email) == client.email.strip().lower())
    if client.phones:
        matches.append(ConsentRequest.client_phone.in_(client.phones))
    if client.appointment_ids:
        matches.append(ConsentRequest.appointment_id.in_(client.appointment_ids))
    if not matches:
        return []
    return list(
        session.scalars(
            sa.select(ConsentRequest).where(sa.or_(*matches)).order_by(ConsentRequest.id)
        )
    )


def _restricted_of(session: Session, client: ClientLookup, secret: str) -> list[ConsentRequest]:
    """The client's requests kept as restricted evidence after an erasure: found by the keyed
    hash of their address (a phone-only client's are no longer theirs to find)."""
    if not client.email:
        return []
    return requests_of(session=session, client=ClientLookup(email=pseudonym(secret, client.email)))


def is_restricted(*, session: Session, request_id: int) -> bool:
    """Whether erasure was requested for the request (its record is kept, access restricted)."""
    return bool(
        session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.request_id == request_id, AuditEvent.kind == ERASURE_EVENT)
        )
    )


def _event_view(event: AuditEvent) -> dict[str, Any]:
    view = {
        "sequence": event.sequence,
        "kind": event.kind,
        "occurred_at": utc_iso(event.occurred_at),
        "timezone": event.timezone,
        "locale": event.locale,
    }
    if event.kind in CLIENT_EVENT_KINDS or (event.details or {}).get("by") == "link":
        view |= {"ip": event.ip, "user_agent": event.user_agent, "details": event.details}
    return view


def _request_view(found: ConsentRequest, default_language: str) -> dict[str, Any]:
    version = found.version
    view: dict[str, Any] = {
        "id": found.id,
        "template_id": version.template_id,
        "template_version": version.number,
        "form_title": forms.request_title(found, default_language),
        "status": found.status,
        "verbal": found.verbal,
        "client": {
            "name": found.client_name,
            "email": found.client_email,
            "phone": found.client_phone,
            "locale": found.locale,
            "timezone": found.timezone,
        },
        "appointment_id": found.appointment_id,
        "staff_id": found.staff_id,
        "created_at": utc_iso(found.created_at),
        "updated_at": utc_iso(found.updated_at),
        "expires_at": utc_iso(found.expires_at),
        "events": [_event_view(e) for e in found.events],
        "record": None,
    }
    record = found.record
    if record is not None:
        answers = dict(record.answers or {})
        if answers.get("signature_image"):
            # the drawn image itself is in the signed PDF the client can be given
            answers["signature_image"] = {"included_in": "the signed PDF record"}
        view["record"] = {
            "id": record.id,
            "signed_at": utc_iso(record.signed_at),
            "valid_until": utc_iso(record.valid_until),
            "withdrawn_at": utc_iso(record.withdrawn_at),
            "withdrawal_reason": record.withdrawal_reason,
            "evidence_sha256": record.evidence_sha256,
            "signed_file_sha256": record.signed_file_sha256,
            "current_file_sha256": record.current_file_sha256,
            "answers": answers,
        }
    return view


def _outbox_keys(session: Session, request_ids: list[int]) -> list[str]:
    """The idempotency keys notify saw for the requests' messages (see consent.outbox)."""
    ids = session.scalars(
        sa.select(OutboxItem.id)
        .where(
            OutboxItem.request_id.in_(request_ids),
            OutboxItem.target == "notify",
            OutboxItem.method == "POST",
        )
        .order_by(OutboxItem.id)
    )
    return [f"consent-outbox-{item_id}" for item_id in ids]


def export_client(
    *,
    session: Session,
    client: ClientLookup,
    config: Mapping[str, Any],
    default_language: str,
) -> dict[str, Any]:
    """Everything consent holds about a client (by email address, phone number or booking
    appointment).

    Requests, records' metadata and answers, and their own audit events; records kept after
    an erasure are listed without details.
    """
    found = requests_of(session=session, client=client)
    restricted = _restricted_of(session, client, config["SECRET_KEY"])
    days = record_retention_days(config)
    return {
        "service": "consent",
        "email": client.email,
        "phones": list(client.phones),
        "data": {
            "requests": [_request_view(r, default_language) for r in found],
            "restricted_records": [
                {
                    "request_id": r.id,
                    "record_id": r.record.id,
                    "signed_at": utc_iso(r.record.signed_at),
                    "kept_until": utc_iso(_retain_until(r.record, days)),
                }
                for r in restricted
                if r.record is not None
            ],
            "phones": sorted({r.client_phone for r in found if r.client_phone}),
            "message_keys": _outbox_keys(session, [r.id for r in found]),
        },
    }


def record_retention_days(config: Any) -> int:
    """The consent record retention period in days."""
    return config["RETENTION_CONSENT_RECORD_DAYS"]


def _retain_until(record: ConsentRecord, days: int) -> datetime:
    """When a record may go: `days` after the consent ended (withdrawal, else signing)."""
    return (record.withdrawn_at or record.signed_at) + timedelta(days=days)


def _delete_requests(session: Session, request_ids: list[int]) -> None:
    """Delete requests with everything hanging off them."""
    if not request_ids:
        return
    record_ids = sa.select(ConsentRecord.id).where(ConsentRecord.request_id.in_(request_ids))
    for statement in (
        sa.delete(DownloadLink).where(DownloadLink.record_id.in_(record_ids)),
        sa.delete(ConsentRecord).where(ConsentRecord.request_id.in_(request_ids)),
        sa.delete(OutboxItem).where(OutboxItem.request_id.in_(request_ids)),
        sa.delete(AuditEvent).where(AuditEvent.request_id.in_(request_ids)),
        sa.delete(ConsentRequest).where(ConsentRequest.id.in_(request_ids)),
    ):
        session.execute(statement.execution_options(synchronize_session=False))
    session.expunge_all()  # the rows above are gone; no stale object may be flushed back


def _restrict(
    session: Session, found: ConsentRequest, *, actor: Actor, secret: str, days: int
) -> None:
    """Keep a signed record as evidence; drop what is not evidence; restrict access."""
    record_event(
        session=session,
        request=found,
        kind=ERASURE_EVENT,
        details={"by": actor.label, "kept_until": utc_iso(_retain_until(found.record, days))},
    )
    found.client_name = ERASED_NAME
    if found.client_email:
        found.client_email = pseudonym(secret, found.client_email)
    found.client_phone = None
    found.token_hash = hash_token(secrets.token_urlsafe(32))  # the signing link stops working
    found.token_salt = secrets.token_urlsafe(24)
    found.idempotency_fingerprint = None
    found.updated_at = utcnow()
    found.record.answers = {}
    session.execute(
        sa.delete(OutboxItem)
        .where(
            OutboxItem.request_id == found.id,
            OutboxItem.status == "pending",
        )
        .execution_options(synchronize_session=False)
    )
    session.execute(
        sa.update(OutboxItem)
        .where(OutboxItem.request_id == found.id)
        .values(body=sa.null(), last_error=None)
        .execution_options(synchronize_session=False)
    )
    session.flush()


def erase_client(
    *, session: Session, client: ClientLookup, actor: Actor, config: Mapping[str, Any]
) -> dict[str, Any]:
    """Delete a client's unsigned requests; keep signed records as restricted evidence.

    Returns what was erased and kept, and why.
    """
    found = requests_of(session=session, client=client)
    signed = [r for r in found if r.record is not None]
    unsigned_ids = [r.id for r in found if r.record is None]
    for kept in signed:
        _restrict(
            session,
            kept,
            actor=actor,
            secret=config["SECRET_KEY"],
            days=record_retention_days(config),
        )
    _delete_requests(session, unsigned_ids)
    reclaim_after_commit(session)
    log.info(
        "client erased",
        extra={
            "deleted_request_ids": unsigned_ids,
            "restricted_request_ids": [r.id for r in signed],
        },
    )
    return {
        "service": "consent",
        "erased": {
            "requests_deleted": len(unsigned_ids),
            "records_client_details_dropped": len(signed),
        },
        "kept": {"consent_records": len(signed)},
        "reasons": {"consent_records": KEPT_WHY} if signed else {},
    }


def _records_past_retention(session: Session, *, days: int, now: datetime) -> list[int]:
    """Request ids of records past their period that nothing needs any more."""
    cutoff = now - timedelta(days=days)
    erasure_requested = (
        sa.exists()
        .where(AuditEvent.request_id == ConsentRecord.request_id)
        .where(AuditEvent.kind == ERASURE_EVENT)
    )
    return list(
        session.scalars(
            sa.select(ConsentRecord.request_id)
            .where(
                sa.or_(
                    ConsentRecord.withdrawn_at < cutoff,
                    sa.and_(
                        ConsentRecord.withdrawn_at.is_(None),
                        ConsentRecord.signed_at < cutoff,
                        sa.or_(ConsentRecord.valid_until < now, erasure_requested),
                    ),
                )
            )
            .order_by(ConsentRecord.id)
            .limit(RETENTION_BATCH)
        )
    )


def _unsigned_past_retention(session: Session, *, days: int, now: datetime) -> list[int]:
    """Ids of requests never signed, settled (declined, expired) longer than `days` ago."""
    cutoff = now - timedelta(days=days)
    has_record = sa.exists().where(ConsentRecord.request_id == ConsentRequest.id)
    return list(
        session.scalars(
            sa.select(ConsentRequest.id)
            .where(
                ~has_record,
                ConsentRequest.updated_at < cutoff,
                sa.or_(
                    ConsentRequest.status.in_(("declined", "expired")),
                    sa.and_(ConsentRequest.status == "pending", ConsentRequest.expires_at < cutoff),
                ),
            )
            .order_by(ConsentRequest.id)
            .limit(RETENTION_BATCH)
        )
    )


def _drop_sent_bodies(session: Session, *, days: int, now: datetime) -> int:
    """Empty the bodies (address, name, links) of calls settled more than `days` ago."""
    if days <= 0:
        return 0
    result = session.execute(
        sa.update(OutboxItem)
        .where(
            OutboxItem.created_at < now - timedelta(days=days),
            OutboxItem.status != "pending",
            OutboxItem.body.is_not(None),
        )
        .values(body=sa.null(), last_error=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def apply_retention(
    *, session: Session, config: Any, now: datetime | None = None
) -> dict[str, int]:
    """Delete records and unsigned requests past their retention periods; empty old calls."""
    reclaim_after_commit(session)
    now = now or utcnow()
    counts = {"records_deleted": 0, "requests_deleted": 0}
    counts["outbox_bodies_dropped"] = _drop_sent_bodies(
        session, days=config["RETENTION_MESSAGE_DAYS"], now=now
    )
    for count, find, days in (
        ("records_deleted", _records_past_retention, record_retention_days(config)),
        ("requests_deleted", _unsigned_past_retention, config["RETENTION_CONSENT_REQUEST_DAYS"]),
    ):
        while days > 0:
            ids = find(session, days=days, now=now)
            _delete_requests(session, ids)
            counts[count] += len(ids)
            if len(ids) < RETENTION_BATCH:
                break
    return counts
