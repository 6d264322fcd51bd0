"""Verify an uploaded PDF: which record it is, whether every signature is intact, whether the
last one covers the whole file, and whether the signer chains to this instance's root.

Any file at all gets an answer; a damaged or foreign file is "invalid" with the reason.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from sqlalchemy.orm import Session

from services.consent.models import ConsentRecord
from services.consent.signing import OrgSigner

log = logging.getLogger("frontdesk.consent.verification")


@dataclass
class Verification:
    """The verdict on a PDF."""

    valid: bool
    reason: str | None = None
    record_id: int | None = None
    request_id: int | None = None
    status: str | None = None
    document_sha256: str | None = None
    signatures: list[dict[str, Any]] = field(default_factory=list)


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


def _check_signature(embedded, context: ValidationContext) -> dict[str, Any]:
    try:
        status = validate_pdf_signature(embedded, signer_validation_context=context)
    except (SignatureValidationError, ValueError, KeyError, TypeError) as exc:
        return {
            "field": embedded.field_name,
            "intact": False,
            "valid": False,
            "trusted": False,
            "covers_whole_file": False,
            "problem": f"the signature cannot be checked ({type(exc).__name__})",
        }
    return {
        "field": embedded.field_name,
        "intact": bool(status.intact),
        "valid": bool(status.valid),
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
        if not signature["valid"]:
            return f"signature {signature['field']} is not cryptographically valid"
        if not signature["trusted"]:
            return f"signature {signature['field']} does not chain to this instance's root"
        if not signature["modifications_allowed"]:
            return f"the file was changed after signature {signature['field']} in a way not allowed"
    if not signatures[-1]["covers_whole_file"]:
        return "the last signature does not cover the whole file: something was added after it"
    return None


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
            checked = {
                "field": getattr(signature, "field_name", f"#{index + 1}"),
                "intact": False,
                "valid": False,
                "trusted": False,
                "covers_whole_file": False,
                "problem": f"the signature cannot be checked ({type(exc).__name__})",
            }
        signatures.append(checked)
        if index == 0:
            try:
                byte_range = signature.byte_range
                first_revision = pdf[: byte_range[2] + byte_range[3]]
            except Exception:
                first_revision = None
    record = _find_record(session, pdf, first_revision)
    reason = _reason(signatures)
    return Verification(
        valid=reason is None,
        reason=reason,
        record_id=record.id if record else None,
        request_id=record.request_id if record else None,
        status=record.request.status if record else None,
        document_sha256=record.document_sha256 if record else None,
        signatures=signatures,
    )
