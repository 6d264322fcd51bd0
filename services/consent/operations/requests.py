"""Consent requests: ask a client, answer by link (sign, decline, withdraw), or attest verbally.

Signing links carry a token; only its SHA-256 is stored. The token is derived from the
secret key and a per-request salt so a replayed create (same Idempotency-Key) can return the
same link without the link being stored anywhere.

These operations serve both the JSON API and the public signing page: `view_form`, `sign`,
`decline` and `withdraw_by_token` take the token from the link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.consent import outbox
from services.consent.errors import (
    AlreadySigned,
    MissingCheckboxes,
    NotSigned,
    RecordNotFound,
    RequestNotFound,
    SigningLinkExpired,
    SigningLinkUnknown,
    SigningLinkUsed,
    TemplateArchived,
)
from services.consent.models import MAX_ID, ConsentRecord, ConsentRequest, FormTemplate, FormVersion
from services.consent.operations import forms, records
from services.consent.operations.audit import Origin, record_event
from shared.auth import hash_token
from shared.db import folded, utcnow
from shared.errors import ValidationFailed, raise_every
from shared.fields import default_notify_by
from shared.idempotency import check_replay
from shared.timestamps import utc_iso

DEFAULT_EXPIRY_DAYS = 14
REMINDER_BEFORE = timedelta(hours=24)


# --- links ------------------------------------------------------------------------------------


def _signing_token(secret_key: str, salt: str) -> str:
    digest = hmac.new(secret_key.encode(), f"consent-signing:{salt}".encode(), hashlib.sha256)
    return "fdc_" + base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def signing_url(settings: records.RecordSettings, token: str) -> str:
    """The public signing page of a token."""
    return f"{settings.public_url}/consent/sign/{token}"


def reminder_group(request: ConsentRequest) -> str:
    """The notify group holding a request's reminders."""
    return f"consent:{request.id}:reminders"


# --- create -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    """The outcome of asking for consent: the request, its link (new ones only), reuse flag."""

    request: ConsentRequest
    signing_url: str | None
    reused: bool
    replayed: bool = False


def find_reusable(
    *, session: Session, version: FormVersion, client_email: str | None, client_phone: str | None
) -> ConsentRequest | None:
    """A signed, unwithdrawn, still-valid consent of this client (by address, or by phone
    number for a client without one) to this exact version."""
    now = utcnow()
    if client_email:
        same_client = sa.func.lower(ConsentRequest.client_email) == client_email.lower()
    elif client_phone:
        same_client = ConsentRequest.client_phone == client_phone
    else:
        return None
    return session.scalar(
        sa.select(ConsentRequest)
        .join(ConsentRecord, ConsentRecord.request_id == ConsentRequest.id)
        .where(
            ConsentRequest.version_id == version.id,
            same_client,
            ConsentRequest.status == "signed",
            sa.or_(ConsentRecord.valid_until.is_(None), ConsentRecord.valid_until > now),
        )
        .order_by(ConsentRecord.signed_at.desc())
        .limit(1)
    )


def _to_client(
    *,
    session: Session,
    request: ConsentRequest,
    message: dict[str, Any],
    event_on_delivery: str | None = None,
) -> None:
    """Queue a message to the client by email and/or SMS, as they chose; each is its own
    outbox item with its own idempotency key (the first one's delivery is audited)."""
    for n, (channel, recipient) in enumerate(request.channels):
        outbox.enqueue_notify(
            session=session,
            request=request,
            message={"channel": channel, "to": recipient, **message},
            event_on_delivery=event_on_delivery if n == 0 else None,
        )


def _form(request: ConsentRequest, settings: records.RecordSettings) -> forms.LocalizedForm:
    """The request's form in the client's language, else the organization's default, else the
    form's own."""
    return forms.localize(request.version, request.locale, settings.org.default_language)


def _new_request(
    *,
    session: Session,
    template: FormTemplate,
    client: dict[str, Any],
    appointment_id: int | None,
    staff_id: int | None,
    expires_at: datetime,
    settings: records.RecordSettings,
    verbal: bool = False,
) -> tuple[ConsentRequest, str]:
    if template.archived_at is not None:
        raise TemplateArchived(f"Consent form {template.id} is archived.")
    salt = secrets.token_urlsafe(24)
    token = _signing_token(settings.secret_key, salt)
    request = ConsentRequest(
        version=template.current_version,
        client_name=client["client_name"],
        client_email=client.get("client_email"),
        client_phone=client.get("client_phone"),
        notify_by=client.get("notify_by") or default_notify_by(client.get("client_email")),
        locale=client.get("locale") or settings.org.default_language,
        timezone=client.get("timezone") or "UTC",
        appointment_id=appointment_id,
        staff_id=staff_id,
        token_hash=hash_token(token),
        token_salt=salt,
        expires_at=expires_at,
        verbal=verbal,
    )
    session.add(request)
    session.flush()
    return request, token


def create_request(
    *,
    session: Session,
    template: FormTemplate,
    client: dict[str, Any],
    settings: records.RecordSettings,
    appointment_id: int | None = None,
    appointment_start: datetime | None = None,
    staff_id: int | None = None,
    expires_at: datetime | None = None,
    send: bool = True,
    origin: Origin | None = None,
    idempotency: tuple[str, str] | None = None,
) -> Created:
    """Ask a client to consent to a template's current version (or reuse a valid consent).

    `client` holds client_name, client_email, client_phone, locale, timezone. The signing
    link goes out through notify's `consent_request` template via the outbox; when
    `appointment_start` is given, a `consent_reminder` is scheduled 24 h before it.
    """
    if idempotency is not None:
        key, fingerprint = idempotency
        existing = session.scalar(
            sa.select(ConsentRequest).where(ConsentRequest.idempotency_key == key)
        )
        if existing is not None:
            check_replay(existing.idempotency_fingerprint or "", fingerprint)
            token = _signing_token(settings.secret_key, existing.token_salt)
            url = signing_url(settings, token) if existing.status == "pending" else None
            return Created(existing, url, reused=False, replayed=True)
    reusable = find_reusable(
        session=session,
        version=template.current_version,
        client_email=client.get("client_email"),
        client_phone=client.get("client_phone"),
    )
    if reusable is not None:
        if appointment_id is not None:
            outbox.enqueue_booking_status(
                session=session, request=reusable, appointment_id=appointment_id
            )
        return Created(reusable, None, reused=True)
    now = utcnow()
    request, token = _new_request(
        session=session,
        template=template,
        client=client,
        appointment_id=appointment_id,
        staff_id=staff_id,
        expires_at=expires_at or now + timedelta(days=DEFAULT_EXPIRY_DAYS),
        settings=settings,
    )
    if idempotency is not None:
        request.idempotency_key, request.idempotency_fingerprint = idempotency
    record_event(
        session=session,
        request=request,
        kind="created",
        origin=origin,
        details={"template_id": template.id, "version": request.version.number, "send": send},
    )
    url = signing_url(settings, token)
    title = forms.request_title(request, settings.org.default_language)
    if send:
        _send_link(session=session, request=request, url=url, settings=settings)
    if appointment_id is not None:
        outbox.enqueue_booking_status(
            session=session, request=request, appointment_id=appointment_id
        )
        if appointment_start is not None and appointment_start - REMINDER_BEFORE > now:
            _to_client(
                session=session,
                request=request,
                message={
                    "template": "consent_reminder",
                    "locale": request.locale,
                    "send_at": utc_iso(appointment_start - REMINDER_BEFORE),
                    "group": reminder_group(request),
                    "data": {
                        "client_name": request.client_name,
                        "form_title": title,
                        "signing_url": url,
                        "appointment_start": utc_iso(appointment_start),
                        "timezone": request.timezone,
                        **settings.org.message_context(request.locale),
                    },
                },
            )
    return Created(request, url, reused=False)


def _send_link(
    *, session: Session, request: ConsentRequest, url: str, settings: records.RecordSettings
) -> None:
    """Queue the email that gives the client their signing link (audited as sent once out)."""
    _to_client(
        session=session,
        request=request,
        message={
            "template": "consent_request",
            "locale": request.locale,
            "data": {
                "client_name": request.client_name,
                "form_title": forms.request_title(request, settings.org.default_language),
                "signing_url": url,
                "expires_at": utc_iso(request.expires_at),
                **settings.org.message_context(request.locale),
                "timezone": request.timezone,
            },
        },
        event_on_delivery="sent",
    )


def resend_link(
    *,
    session: Session,
    request: ConsentRequest,
    settings: records.RecordSettings,
    origin: Origin | None = None,
    asked_by: dict[str, Any] | None = None,
) -> ConsentRequest:
    """Email the client the same signing link again, while it can still be used (409/410 not).

    This is what staff get instead of the link: whoever holds the link signs as the client.
    """
    _check_usable(request, allow_signed=False)
    token = _signing_token(settings.secret_key, request.token_salt)
    record_event(
        session=session, request=request, kind="link_resent", origin=origin, details=asked_by
    )
    _send_link(
        session=session, request=request, url=signing_url(settings, token), settings=settings
    )
    session.flush()
    return request


# --- read -------------------------------------------------------------------------------------


def get_request(
    *, session: Session, request_id: int, staff_id: int | None = None
) -> ConsentRequest:
    """A request by id; with `staff_id`, only that staff member's requests (404 otherwise)."""
    request = session.get(ConsentRequest, request_id) if 0 < request_id <= MAX_ID else None
    if request is None or (staff_id is not None and request.staff_id != staff_id):
        raise RequestNotFound(f"There is no consent request {request_id}.")
    return request


def list_requests(
    *,
    session: Session,
    appointment_id: int | None = None,
    client_email: str | None = None,
    status: str | None = None,
    staff_id: int | None = None,
) -> list[ConsentRequest]:
    """Requests, newest first, filtered by appointment, client email (any case), status and
    staff member."""
    query = sa.select(ConsentRequest).order_by(ConsentRequest.id.desc()).limit(500)
    if appointment_id is not None:
        query = query.where(ConsentRequest.appointment_id == appointment_id)
    if client_email is not None:
        email = sa.literal(client_email.strip())
        query = query.where(folded(session, ConsentRequest.client_email) == folded(session, email))
    if status is not None:
        query = query.where(ConsentRequest.status == status)
    if staff_id is not None:
        query = query.where(ConsentRequest.staff_id == staff_id)
    return list(session.scalars(query))


def record_of(request: ConsentRequest) -> ConsentRecord:
    """The signed record of a request, or 404."""
    if request.record is None:
        raise RecordNotFound(f"Consent request {request.id} has no signed record.")
    return request.record


# --- by link ----------------------------------------------------------------------------------


def request_for_token(
    *, session: Session, token: str, allow_signed: bool = True, lock: bool = False
) -> ConsentRequest:
    """The request behind a signing link: 404 unknown, 410 expired or used.

    With `lock`, the row is locked for the rest of the transaction, so a second submit
    waits and then sees the first one's outcome (409) instead of racing it.
    """
    query = sa.select(ConsentRequest).where(ConsentRequest.token_hash == hash_token(token))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    request = session.scalar(query)
    if request is None:
        raise SigningLinkUnknown("This signing link is not valid. Check the link in your email.")
    _check_usable(request, allow_signed=allow_signed)
    return request


def _check_usable(request: ConsentRequest, *, allow_signed: bool) -> None:
    """Raise 410 when the request's link has expired or was used up, 409 when signed."""
    if request.status == "expired" or (
        request.status == "pending" and request.expires_at <= utcnow()
    ):
        raise SigningLinkExpired("This signing link has expired. Ask for a new one.")
    if request.status in ("declined", "withdrawn"):
        raise SigningLinkUsed(f"This consent was {request.status}; the link cannot be used again.")
    if request.status == "signed" and not allow_signed:
        raise AlreadySigned("This consent was already signed.")


@dataclass(frozen=True)
class SigningView:
    """What the signing page shows for a link."""

    request: ConsentRequest
    form: forms.LocalizedForm
    disclosure: str


DISCLOSURE = (
    "You agree to sign this form electronically. You may ask for a paper copy at no cost, "
    "and you may withdraw your consent at any time, as easily as you gave it, from the link "
    "in your email or by asking us."
)


def view_form(
    *,
    session: Session,
    token: str,
    origin: Origin,
    settings: records.RecordSettings,
    locale: str | None = None,
) -> SigningView:
    """The form behind a signing link, in the given or the client's language (else the
    organization's default); audited as viewed."""
    request = request_for_token(session=session, token=token)
    if request.status == "pending" and (not request.events or request.events[-1].kind != "viewed"):
        record_event(session=session, request=request, kind="viewed", origin=origin)
    form = forms.localize(
        request.version, locale or request.locale, request.locale, settings.org.default_language
    )
    return SigningView(request=request, form=form, disclosure=DISCLOSURE)


def signer_problems(*, typed_name: str, disclosure_accepted: bool) -> list[ValidationFailed]:
    """What a signature by link lacks: the typed name, the accepted disclosure."""
    problems: list[ValidationFailed] = []
    if not typed_name.strip():
        problems.append(
            ValidationFailed(
                "Type your full name to sign.", errors={"typed_name": ["Type your full name."]}
            )
        )
    if not disclosure_accepted:
        problems.append(
            ValidationFailed(
                "Accept the electronic records disclosure to sign online.",
                errors={"disclosure_accepted": ["Must be accepted to sign electronically."]},
            )
        )
    return problems


def answer_problems(
    *,
    form: forms.LocalizedForm,
    checkboxes: dict[str, bool],
    fields: dict[str, str],
    signature_image: str | None = None,
) -> list[ValidationFailed]:
    """Every problem of the answers to `form`, each the error it would be alone (the signing
    API, the signing page and verbal consent all check answers here)."""
    problems: list[ValidationFailed] = []
    known = {box["key"] for box in form.checkboxes}
    if unknown := sorted(set(checkboxes) - known):
        problems.append(
            ValidationFailed(
                f"Unknown checkboxes: {', '.join(unknown)}.",
                errors={f"checkboxes.{key}": ["Not on this form."] for key in unknown},
            )
        )
    missing = [
        box["key"] for box in form.checkboxes if box["required"] and not checkboxes.get(box["key"])
    ]
    if missing:
        problems.append(
            MissingCheckboxes(
                f"Tick the required checkboxes: {', '.join(missing)}.",
                errors={f"checkboxes.{key}": ["This box must be ticked."] for key in missing},
            )
        )
    limits = {field["key"]: field["max_length"] for field in form.fields}
    bad = {
        f"fields.{key}": (["Not on this form."] if key not in limits else ["Too long."])
        for key, value in fields.items()
        if key not in limits or len(value) > limits[key]
    }
    if bad:
        problems.append(
            ValidationFailed("Some fields are invalid: " + ", ".join(sorted(bad)), errors=bad)
        )
    if signature_image:
        try:
            records.check_signature_image(signature_image)
        except ValidationFailed as exc:
            problems.append(exc)
    return problems


@dataclass(frozen=True)
class Signed:
    """A consent just signed: its request, record and a download link for the client."""

    request: ConsentRequest
    record: ConsentRecord
    download_url: str
    download_expires_at: datetime


def sign(
    *,
    session: Session,
    token: str,
    typed_name: str,
    disclosure_accepted: bool,
    settings: records.RecordSettings,
    origin: Origin,
    checkboxes: dict[str, bool] | None = None,
    fields: dict[str, str] | None = None,
    signature_image: str | None = None,
    proxy_relationship: str | None = None,
    disclosure: str = DISCLOSURE,
) -> Signed:
    """Sign by link: checks the answers, records the disclosure and the signature, issues the PDF.

    `disclosure` is the electronic-records disclosure exactly as the signer was shown it (the
    page shows it translated); its text and hash go into the audit trail.

    A guardian or other proxy signs with their own typed name and their relationship to
    the client. Rendering and signing happen here; if they fail, nothing is kept.
    """
    request = request_for_token(session=session, token=token, allow_signed=False, lock=True)
    form = _form(request, settings)
    checkboxes, fields = checkboxes or {}, fields or {}
    typed_name = typed_name.strip()
    raise_every(
        signer_problems(typed_name=typed_name, disclosure_accepted=disclosure_accepted)
        + answer_problems(
            form=form, checkboxes=checkboxes, fields=fields, signature_image=signature_image
        )
    )
    image = None
    if signature_image:
        media_type, data = records.check_signature_image(signature_image)
        image = {
            "media_type": media_type,
            "sha256": hashlib.sha256(data).hexdigest(),
            "data_url": records.signature_data_url(media_type, data),
        }
    signer = {
        "typed_name": typed_name,
        "proxy": bool(proxy_relationship),
        "relationship": proxy_relationship,
    }
    record_event(
        session=session,
        request=request,
        kind="disclosure_accepted",
        origin=origin,
        details={
            "disclosure_sha256": hashlib.sha256(disclosure.encode()).hexdigest(),
            "disclosure_text": disclosure,
        },
    )
    record_event(
        session=session,
        request=request,
        kind="signed",
        origin=origin,
        details={
            "signer": signer,
            "checkboxes": checkboxes,
            "fields": fields,
            "signature_image_sha256": image["sha256"] if image else None,
        },
    )
    record = records.issue_record(
        session=session,
        request=request,
        answers={
            "checkboxes": checkboxes,
            "fields": fields,
            "signer": signer,
            "signature_image": image,
            "disclosure_accepted": True,
        },
        settings=settings,
    )
    return _after_signing(session=session, request=request, record=record, settings=settings)


def _after_signing(
    *,
    session: Session,
    request: ConsentRequest,
    record: ConsentRecord,
    settings: records.RecordSettings,
) -> Signed:
    request.status = "signed"
    request.updated_at = utcnow()
    link, download_token = records.create_download_link(session=session, record=record)
    url = records.download_url(settings, download_token)
    _to_client(
        session=session,
        request=request,
        message={
            "template": "consent_signed",
            "locale": request.locale,
            "data": {
                "client_name": request.client_name,
                "form_title": forms.request_title(request, settings.org.default_language),
                "download_url": url,
                "expires_at": utc_iso(link.expires_at),
                **settings.org.message_context(request.locale),
                "timezone": request.timezone,
            },
        },
    )
    _tell_booking(session=session, request=request, cancel_reminders=True)
    session.flush()
    return Signed(request, record, url, link.expires_at)


def _tell_booking(*, session: Session, request: ConsentRequest, cancel_reminders: bool) -> None:
    if request.appointment_id is not None:
        outbox.enqueue_booking_status(
            session=session, request=request, appointment_id=request.appointment_id
        )
        if cancel_reminders:
            outbox.enqueue_cancel_group(
                session=session, request=request, group=reminder_group(request)
            )


def decline(
    *, session: Session, token: str, origin: Origin, reason: str | None = None
) -> ConsentRequest:
    """Decline by link: the request is closed and booking is told."""
    request = request_for_token(session=session, token=token, allow_signed=False, lock=True)
    request.status = "declined"
    request.updated_at = utcnow()
    record_event(
        session=session, request=request, kind="declined", origin=origin, details={"reason": reason}
    )
    _tell_booking(session=session, request=request, cancel_reminders=True)
    session.flush()
    return request


def withdraw(
    *,
    session: Session,
    request: ConsentRequest,
    withdrawn_by: str,
    settings: records.RecordSettings,
    origin: Origin,
    reason: str | None = None,
) -> ConsentRequest:
    """Withdraw a signed consent: audited, the record gets a signed withdrawal update, all told."""
    session.refresh(request, with_for_update=True)
    if request.status != "signed":
        raise NotSigned(f"Consent request {request.id} is {request.status}, not signed.")
    event = record_event(
        session=session,
        request=request,
        kind="withdrawn",
        origin=origin,
        details={"by": withdrawn_by, "reason": reason},
    )
    records.add_withdrawal(
        session=session,
        record=request.record,
        event=event,
        withdrawn_by=withdrawn_by,
        reason=reason,
        settings=settings,
    )
    request.status = "withdrawn"
    request.updated_at = utcnow()
    _to_client(
        session=session,
        request=request,
        message={
            "template": "consent_withdrawn",
            "locale": request.locale,
            "data": {
                "client_name": request.client_name,
                "form_title": forms.request_title(request, settings.org.default_language),
                **settings.org.message_context(request.locale),
            },
        },
    )
    _tell_booking(session=session, request=request, cancel_reminders=False)
    session.flush()
    return request


def withdraw_by_token(
    *,
    session: Session,
    token: str,
    settings: records.RecordSettings,
    origin: Origin,
    reason: str | None = None,
) -> ConsentRequest:
    """Withdraw from the client's own signing link."""
    request = request_for_token(session=session, token=token)
    return withdraw(
        session=session,
        request=request,
        withdrawn_by="the client, from their signing link",
        settings=settings,
        origin=origin,
        reason=reason,
    )


# --- verbal -----------------------------------------------------------------------------------


def attest_verbal(
    *,
    session: Session,
    template: FormTemplate,
    client: dict[str, Any],
    explained: str,
    explained_by: str,
    explained_at: datetime,
    settings: records.RecordSettings,
    origin: Origin,
    witness: str | None = None,
    appointment_id: int | None = None,
    staff_id: int | None = None,
    checkboxes: dict[str, bool] | None = None,
) -> Signed:
    """Staff attest a consent given verbally: a signed record marked verbal.

    Unless told otherwise, every checkbox on the form counts as agreed to out loud.
    """
    if explained_at > utcnow() + timedelta(minutes=5):
        raise ValidationFailed(
            "A verbal consent cannot be attested in the future.",
            errors={"explained_at": ["Must not be in the future."]},
        )
    request, _token = _new_request(
        session=session,
        template=template,
        client=client,
        appointment_id=appointment_id,
        staff_id=staff_id,
        expires_at=utcnow(),
        settings=settings,
        verbal=True,
    )
    form = _form(request, settings)
    if checkboxes is None:
        checkboxes = {box["key"]: True for box in form.checkboxes}
    raise_every(answer_problems(form=form, checkboxes=checkboxes, fields={}))
    verbal = {
        "explained": explained,
        "explained_by": explained_by,
        "explained_at": utc_iso(explained_at),
        "witness": witness,
    }
    record_event(
        session=session,
        request=request,
        kind="created",
        origin=origin,
        details={"template_id": template.id, "version": request.version.number, "verbal": True},
    )
    record_event(
        session=session,
        request=request,
        kind="verbal_attested",
        origin=origin,
        details={**verbal, "checkboxes": checkboxes},
    )
    record = records.issue_record(
        session=session,
        request=request,
        answers={
            "checkboxes": checkboxes,
            "fields": {},
            "signer": {"typed_name": explained_by, "proxy": False, "relationship": None},
            "signature_image": None,
            "disclosure_accepted": False,
            "verbal": verbal,
        },
        settings=settings,
    )
    return _after_signing(session=session, request=request, record=record, settings=settings)


# --- expiry -----------------------------------------------------------------------------------


def expire_overdue(*, session: Session, limit: int = 100) -> int:
    """Mark pending requests past their expiry as expired (audited, booking told)."""
    overdue = list(
        session.scalars(
            sa.select(ConsentRequest)
            .where(ConsentRequest.status == "pending", ConsentRequest.expires_at <= utcnow())
            .order_by(ConsentRequest.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for request in overdue:
        request.status = "expired"
        request.updated_at = utcnow()
        record_event(session=session, request=request, kind="expired")
        _tell_booking(session=session, request=request, cancel_reminders=True)
    session.flush()
    return len(overdue)
