"""Consent records: the evidence, its HTML rendered to PDF/A-3b with WeasyPrint, then signed.

The record holds the form as signed, the answers, the signature (typed name, drawn image),
and an audit page. The evidence (everything on the record, as canonical JSON) is attached to
the PDF as evidence.json and its SHA-256 is printed as the evidence hash. Signing is last.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import struct
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes
from zoneinfo import ZoneInfo

import jinja2
import sqlalchemy as sa
import weasyprint
from sqlalchemy.orm import Session

from services.consent.errors import (
    DownloadLinkExpired,
    DownloadLinkUnknown,
    InvalidSignatureImage,
    SigningUnavailable,
)
from services.consent.models import AuditEvent, ConsentRecord, ConsentRequest, DownloadLink
from services.consent.operations import forms, signing
from services.consent.operations.audit import Origin, record_event
from services.consent.record_labels import labels_for
from shared.auth import hash_token, new_token
from shared.db import utcnow
from shared.languages import text_direction
from shared.organization import OrgProfile
from shared.plain_text import isolate

MAX_SIGNATURE_BYTES = 200 * 1024
MAX_SIGNATURE_PIXELS = 4000
DOWNLOAD_LINK_DAYS = 7
# Where the withdrawal update is drawn on the record's last page (PDF points, A4).
WITHDRAWAL_BOX = (57, 60, 538, 640)

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parents[1] / "templates" / "records"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
# What people typed goes between FSI and PDI: a right-to-left override in a name cannot
# reorder the words around it on the legal record.
_templates.filters["isolate"] = isolate


@dataclass(frozen=True)
class RecordSettings:
    """What signing records needs from the configuration."""

    instance_dir: str
    org_name: str
    public_url: str
    secret_key: str
    p12_path: str | None = None
    p12_password: str | None = None
    tsa_url: str | None = None
    # The organization's profile as booking gives it (services.consent.clients), asked for
    # only when a record or message needs it; without one the configured name stands in.
    org_source: Callable[[], OrgProfile] | None = None

    @property
    def org(self) -> OrgProfile:
        """The organization's name and contacts for records and messages."""
        return self.org_source() if self.org_source else OrgProfile(name=self.org_name)

    @classmethod
    def from_config(
        cls, config: Any, org_source: Callable[[], OrgProfile] | None = None
    ) -> RecordSettings:
        """Read the settings from a service's configuration mapping."""
        return cls(
            org_source=org_source,
            instance_dir=config["INSTANCE_DIR"],
            org_name=config["ORG_NAME"],
            public_url=config["PUBLIC_URL"].rstrip("/"),
            secret_key=config["SECRET_KEY"],
            p12_path=config.get("SIGNING_P12"),
            p12_password=config.get("SIGNING_P12_PASSWORD"),
            tsa_url=config.get("TSA_URL"),
        )

    def signer(self) -> signing.OrgSigner:
        """The organization's signer for these settings."""
        return signing.load_signer(
            instance_dir=self.instance_dir,
            org_name=self.org_name,
            p12_path=self.p12_path,
            p12_password=self.p12_password,
        )


# --- drawn signatures -------------------------------------------------------------------------

_DATA_URL = re.compile(r"^data:(image/png|image/svg\+xml)(;base64)?,(.*)$", re.DOTALL)
_SVG_NS = "{http://www.w3.org/2000/svg}"
_SVG_FORBIDDEN = {"script", "foreignObject", "iframe", "image", "use"}


def check_signature_image(data_url: str) -> tuple[str, bytes]:
    """Validate a drawn signature (PNG or SVG data URL); return its type and bytes, or 422."""
    match = _DATA_URL.match(data_url.strip())
    if match is None:
        raise InvalidSignatureImage(
            "Send the drawn signature as a PNG or SVG data URL.",
            errors={"signature_image": ["Only image/png or image/svg+xml data URLs."]},
        )
    media_type, is_base64, payload = match.groups()
    if len(payload) > MAX_SIGNATURE_BYTES * 2:
        raise _too_large()
    try:
        data = base64.b64decode(payload, validate=True) if is_base64 else unquote_to_bytes(payload)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSignatureImage(
            "The drawn signature is not valid base64.",
            errors={"signature_image": ["Not valid base64."]},
        ) from exc
    if len(data) > MAX_SIGNATURE_BYTES:
        raise _too_large()
    if media_type == "image/png":
        _check_png(data)
    else:
        _check_svg(data)
    return media_type, data


def _too_large() -> InvalidSignatureImage:
    return InvalidSignatureImage(
        f"The drawn signature is larger than {MAX_SIGNATURE_BYTES // 1024} KB.",
        errors={"signature_image": [f"At most {MAX_SIGNATURE_BYTES // 1024} KB."]},
    )


def _bad_image(reason: str) -> InvalidSignatureImage:
    return InvalidSignatureImage(
        f"The drawn signature is not a usable image: {reason}.",
        errors={"signature_image": [reason]},
    )


def _check_png(data: bytes) -> None:
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or data[12:16] != b"IHDR" or len(data) < 33:
        raise _bad_image("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    if not (0 < width <= MAX_SIGNATURE_PIXELS and 0 < height <= MAX_SIGNATURE_PIXELS):
        raise _bad_image(f"PNG larger than {MAX_SIGNATURE_PIXELS} pixels")


def _check_svg(data: bytes) -> None:
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise _bad_image("SVG with a DOCTYPE or entities")
    try:
        root = ElementTree.fromstring(data)  # noqa: S314 - DOCTYPE and entities refused above
    except ElementTree.ParseError as exc:
        raise _bad_image("not well-formed SVG") from exc
    if root.tag != f"{_SVG_NS}svg":
        raise _bad_image("not an SVG document")
    for element in root.iter():
        local = element.tag.rpartition("}")[2]
        if local in _SVG_FORBIDDEN:
            raise _bad_image(f"SVG element <{local}> is not allowed")
        for name, value in element.attrib.items():
            attribute = name.rpartition("}")[2].lower()
            if attribute.startswith("on") or (attribute == "href" and not value.startswith("#")):
                raise _bad_image(f"SVG attribute {attribute} is not allowed")


def signature_data_url(media_type: str, data: bytes) -> str:
    """A base64 data URL for an image already checked."""
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


# --- evidence and rendering -------------------------------------------------------------------


def _event_evidence(event: AuditEvent) -> dict[str, Any]:
    return {
        "sequence": event.sequence,
        "kind": event.kind,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "timezone": event.timezone,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "locale": event.locale,
        "details": event.details,
        "previous_hash": event.previous_hash,
        "hash": event.hash,
    }


def build_evidence(record: ConsentRecord, request: ConsentRequest, org_name: str) -> dict[str, Any]:
    """Everything the record attests, as plain data (attached to the PDF as evidence.json)."""
    version = request.version
    return {
        "record_id": record.id,
        "request_id": request.id,
        "organization": org_name,
        "template": {
            "id": version.template_id,
            "version": version.number,
            "content_sha256": version.content_sha256,
            "content": version.content,
        },
        "locale": request.locale,
        "client": {
            "name": request.client_name,
            "email": request.client_email,
            "phone": request.client_phone,
            "timezone": request.timezone,
        },
        "appointment_id": request.appointment_id,
        "verbal": request.verbal,
        "answers": record.answers,
        "signed_at": record.signed_at.astimezone(UTC).isoformat(timespec="seconds"),
        "events": [_event_evidence(event) for event in request.events],
    }


def canonical_json(data: dict[str, Any]) -> bytes:
    """Sorted, compact, UTF-8 JSON: the form whose SHA-256 is the evidence hash."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _fetcher() -> weasyprint.URLFetcher:
    # Only inline data: URLs; a drawn SVG must not make the renderer fetch anything.
    return weasyprint.URLFetcher(allowed_protocols={"data"}, timeout=1)


def render_pdf(html: str, *, attachments: list[tuple[str, bytes, str]] = ()) -> bytes:
    """HTML -> tagged PDF/A-3b with WeasyPrint, with (name, bytes, description) attachments."""
    files = [
        weasyprint.Attachment(string=data, name=name, description=description, relationship="Data")
        for name, data, description in attachments
    ]
    return weasyprint.HTML(string=html, url_fetcher=_fetcher()).write_pdf(
        pdf_variant="pdf/a-3b", pdf_tags=True, attachments=files
    )


def _local(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def record_html(
    record: ConsentRecord, request: ConsentRequest, evidence_sha256: str, org: OrgProfile
) -> str:
    """The record's HTML: form as signed, answers, signature and the audit page."""
    version = request.version
    form = forms.localize(version, request.locale, org.default_language)
    answers = record.answers
    signer = answers.get("signer", {})
    image = answers.get("signature_image")
    return _templates.get_template("record.html").render(
        record_id=record.id,
        request_id=request.id,
        org=org,
        form=form,
        template_id=version.template_id,
        version_number=version.number,
        content_sha256=version.content_sha256,
        evidence_sha256=evidence_sha256,
        checkboxes=[
            {**box, "ticked": bool(answers["checkboxes"].get(box["key"]))}
            for box in form.checkboxes
        ],
        fields=[{**field, "value": answers["fields"].get(field["key"])} for field in form.fields],
        t=labels_for(form.locale),
        dir=text_direction(form.locale),
        disclosure_accepted=bool(answers.get("disclosure_accepted")),
        verbal=answers.get("verbal"),
        signer=signer,
        signature_image=image["data_url"] if image else None,
        client_name=request.client_name,
        client_email=request.client_email,
        client_phone=request.client_phone,
        timezone=request.timezone,
        signed_at_utc=record.signed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        signed_at_local=_local(record.signed_at, request.timezone),
        events=[
            {
                **_event_evidence(event),
                "occurred_at": event.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
            }
            for event in request.events
        ],
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def issue_record(
    *,
    session: Session,
    request: ConsentRequest,
    answers: dict[str, Any],
    settings: RecordSettings,
) -> ConsentRecord:
    """Render and sign the record of a consent just given; nothing is kept if signing fails."""
    org = settings.signer()  # fail before rendering when the key is missing
    now = utcnow()
    validity = request.version.validity_days
    record = ConsentRecord(
        request=request,
        answers=answers,
        pdf=b"",
        evidence_sha256="",
        signed_file_sha256="",
        current_file_sha256="",
        signed_at=now,
        valid_until=now + timedelta(days=validity) if validity else None,
    )
    session.add(record)
    session.flush()
    org_profile = settings.org
    evidence = canonical_json(build_evidence(record, request, org_profile.name))
    record.evidence_sha256 = _sha256(evidence)
    html = record_html(record, request, record.evidence_sha256, org_profile)
    try:
        unsigned = render_pdf(
            html, attachments=[("evidence.json", evidence, "Consent evidence (JSON)")]
        )
    except OSError as exc:
        raise SigningUnavailable(
            f"The record could not be rendered ({type(exc).__name__})."
        ) from exc
    pdf = signing.sign_record(
        unsigned,
        org=org,
        org_name=org_profile.name,
        tsa_url=settings.tsa_url,
        reason=f"Consent record {record.id}",
    )
    record.pdf = pdf
    record.signed_file_sha256 = record.current_file_sha256 = _sha256(pdf)
    try:
        session.flush()
    except sa.exc.OperationalError as exc:  # disk full, database gone: retry later
        raise SigningUnavailable(
            "The signed record could not be stored; nothing was kept. Try again shortly."
        ) from exc
    return record


def add_withdrawal(
    *,
    session: Session,
    record: ConsentRecord,
    event: AuditEvent,
    withdrawn_by: str,
    reason: str | None,
    settings: RecordSettings,
) -> ConsentRecord:
    """Record a withdrawal on the record's last page as a signed incremental update."""
    org = settings.signer()
    x1, y1, x2, y2 = WITHDRAWAL_BOX
    locale = forms.localize(
        record.request.version, record.request.locale, settings.org.default_language
    ).locale
    html = _templates.get_template("withdrawal.html").render(
        t=labels_for(locale),
        locale=locale,
        dir=text_direction(locale),
        record_id=record.id,
        width=x2 - x1,
        height=y2 - y1,
        withdrawn_at=event.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
        withdrawn_by=withdrawn_by,
        reason=reason,
        event=event,
    )
    appearance = weasyprint.HTML(string=html, url_fetcher=_fetcher()).write_pdf()
    record.pdf = signing.sign_update(
        record.pdf,
        appearance_pdf=appearance,
        box=WITHDRAWAL_BOX,
        org=org,
        org_name=settings.org_name,
        tsa_url=settings.tsa_url,
        reason=f"Withdrawal of consent record {record.id}",
    )
    record.current_file_sha256 = _sha256(record.pdf)
    record.withdrawn_at = event.occurred_at
    record.withdrawal_reason = reason
    session.flush()
    return record


# --- download links ---------------------------------------------------------------------------


def create_download_link(
    *, session: Session, record: ConsentRecord, days: int = DOWNLOAD_LINK_DAYS
) -> tuple[DownloadLink, str]:
    """A new expiring download link for a record; returns the row and the token (shown once)."""
    token = new_token("fdr")
    link = DownloadLink(
        record_id=record.id,
        token_hash=hash_token(token),
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(link)
    session.flush()
    return link, token


def download_url(settings: RecordSettings, token: str) -> str:
    """The public URL of a download link."""
    return f"{settings.public_url}/consent/records/{token}.pdf"


def record_for_download(*, session: Session, token: str, origin: Origin) -> ConsentRecord:
    """The record behind a download link (404 unknown, 410 expired); the download is audited."""
    link = session.scalar(
        sa.select(DownloadLink).where(DownloadLink.token_hash == hash_token(token))
    )
    if link is None:
        raise DownloadLinkUnknown("This download link is not valid.")
    if link.expires_at <= utcnow():
        raise DownloadLinkExpired("This download link has expired; ask for a new one.")
    record = session.get(ConsentRecord, link.record_id)
    record_event(
        session=session,
        request=record.request,
        kind="downloaded",
        origin=origin,
        details={"by": "link", "link_id": link.id},
    )
    return record
