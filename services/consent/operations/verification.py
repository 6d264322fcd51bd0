"""Verify an uploaded PDF: which record it is, whether every signature is intact, whether the
last one covers the whole file, and whether the signer chains to this instance's root; then
whether the consent it records is still in force, and whether the file is the record's current
revision or an earlier one (a withdrawal adds a revision).

Any file at all gets an answer; a damaged or foreign file is "not authentic" with the reason.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from sqlalchemy.orm import Session

from services.consent.models import ConsentRecord
from services.consent.operations.signing import OrgSigner
from shared.db import utcnow

log = logging.getLogger("frontdesk.consent.verification")


@dataclass
class Verification:
    """The verdict on a PDF: `authentic` is about the file, `in_force` about the consent."""

    authentic: bool
    reason: str | None = None
    record_id: int | None = None
    request_id: int | None = None
    status: str | None = None
    in_force: bool | None = None
    in_force_reason: str | None = None
    withdrawn_at: datetime | None = None
    valid_until: datetime | None = None
    current_revision: bool | None = None
    revision_note: str | None = None
    evidence_sha256: str | None = None
    pdf_sha256: str | None = None
    signatures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """The former name of `authentic` (kept for API clients)."""
        return self.authentic


def _find_record(
    session: Session, pdf: bytes, first_revision: bytes | None
) -> ConsentRecord | None:
    digests = {hashlib.sha256(pdf).hexdigest()}
    if first_revision is not None:
        digests.add(hashlib.sha256(first_revision).hexdigest())
    return session.scalar(
        sa.select(ConsentRecord).where(
            sa.or_(
                ConsentRecord.signed_file_sha256.in_(digests),
                ConsentRecord.current_file_sha256.in_(digests),
            )
        )
    )


def _unchecked(field_name: str, exc: Exception) -> dict[str, Any]:
    return {
        "field": field_name,
        "valid": False,
        "intact": False,
        "cryptographically_valid": False,
        "trusted": False,
        "covers_whole_file": False,
        "problem": f"the signature cannot be checked ({type(exc).__name__})",
    }


def _check_signature(embedded, context: ValidationContext) -> dict[str, Any]:
    try:
        status = validate_pdf_signature(embedded, signer_validation_context=context)
    except (SignatureValidationError, ValueError, KeyError, TypeError) as exc:
        return _unchecked(embedded.field_name, exc)
    return {
        "field": embedded.field_name,
        # pyHanko's own `valid` only says the signature value matches the signed digest, even
        # when the file no longer matches that digest: ours is the whole verdict.
        "valid": bool(status.intact and status.valid and status.trusted),
        "intact": bool(status.intact),
        "cryptographically_valid": bool(status.valid),
        "trusted": bool(status.trusted),
        "covers_whole_file": status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        "modifications_allowed": bool(status.docmdp_ok),
        "signed_at": status.signer_reported_dt.isoformat() if status.signer_reported_dt else None,
        "signer": status.signing_cert.subject.human_friendly,
        "problem": None,
    }


def _reason(signatures: list[dict[str, Any]]) -> str | None:
    if not signatures:
        return "the file carries no digital signature"
    for signature in signatures:
        if signature["problem"]:
            return signature["problem"]
        if not signature["intact"]:
            return f"signature {signature['field']} does not match the file: it was changed after signing"
        if not signature["cryptographically_valid"]:
            return f"signature {signature['field']} is not cryptographically valid"
        if not signature["trusted"]:
            return f"signature {signature['field']} does not chain to this instance's root"
        if not signature["modifications_allowed"]:
            return f"the file was changed after signature {signature['field']} in a way not allowed"
    if not signatures[-1]["covers_whole_file"]:
        return "the last signature does not cover the whole file: something was added after it"
    return None


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _in_force(record: ConsentRecord) -> tuple[bool, str | None]:
    """Whether the consent a record attests still holds, and why not."""
    if record.withdrawn_at is not None or record.request.status == "withdrawn":
        when = f" on {_utc(record.withdrawn_at)}" if record.withdrawn_at else ""
        return False, f"the consent was withdrawn{when}"
    if record.valid_until is not None and record.valid_until <= utcnow():
        return False, f"the consent expired on {_utc(record.valid_until)} (end of its validity)"
    if record.request.status != "signed":
        return False, f"the consent request is {record.request.status}"
    return True, None


def _revision(record: ConsentRecord, pdf: bytes) -> tuple[bool, str | None]:
    """Whether the file is the record as it stands now; if not, what it is."""
    if pdf == record.pdf:
        return True, None
    if record.pdf.startswith(pdf) and pdf.rstrip().endswith(b"%%EOF"):
        return False, (
            f"this file is an earlier revision of record {record.id}: the record has since "
            "changed (a withdrawal was added); ask for the current file"
        )
    return False, f"this file is not a revision of record {record.id} issued by this instance"


def verify_pdf(*, session: Session, pdf: bytes, org: OrgSigner) -> Verification:
    """Check a PDF against this instance's root and find the record it is."""
    if not pdf.startswith(b"%PDF-"):
        return Verification(False, "the file is not a PDF")
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = reader.embedded_signatures
    except Exception as exc:  # any malformed file must give an answer, not a 500
        log.info("unreadable pdf uploaded", extra={"error": type(exc).__name__})
        return Verification(False, f"the file could not be read as a PDF ({type(exc).__name__})")
    context = ValidationContext(trust_roots=[org.root], allow_fetching=False)
    signatures = []
    first_revision = None
    for index, signature in enumerate(embedded):
        try:
            checked = _check_signature(signature, context)
        except Exception as exc:  # a damaged signature dictionary
            checked = _unchecked(getattr(signature, "field_name", f"#{index + 1}"), exc)
        signatures.append(checked)
        if index == 0:
            try:
                byte_range = signature.byte_range
                first_revision = pdf[: byte_range[2] + byte_range[3]]
            except Exception:
                first_revision = None
    record = _find_record(session, pdf, first_revision)
    reason = _reason(signatures)
    if record is None:
        return Verification(authentic=reason is None, reason=reason, signatures=signatures)
    in_force, in_force_reason = _in_force(record)
    current_revision, revision_note = _revision(record, pdf)
    return Verification(
        authentic=reason is None,
        reason=reason,
        record_id=record.id,
        request_id=record.request_id,
        status=record.request.status,
        in_force=in_force,
        in_force_reason=in_force_reason,
        withdrawn_at=record.withdrawn_at,
        valid_until=record.valid_until,
        current_revision=current_revision,
        revision_note=revision_note,
        evidence_sha256=record.evidence_sha256,
        pdf_sha256=record.current_file_sha256,
        signatures=signatures,
    )
