"""Consent's input and output schemas (input and output kept apart)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate, validates_schema

from services.consent.models import MAX_ID
from services.consent.operations import forms
from shared.fields import (
    NOTIFY_BY,
    EmailAddress,
    OneLine,
    PhoneNumber,
    TimeZone,
    UTCDateTime,
    contact_errors,
    default_notify_by,
)
from shared.pages import current_org
from shared.timestamps import utc_iso

_KEY = validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$", error="Use lower-case letters, digits and _.")
_LOCALE = validate.OneOf(forms.LOCALES)
LOCALE_DOC = (
    "The client's language. The request is in it when the form has it, else in the "
    "organization's default language, else in the form's own (the answer says which)."
)
_ID = validate.Range(1, MAX_ID)
# What a signer may send: no form has more boxes or fields (keys are at most 40 characters, the
# per-field limit is the form's own, at most 5000), and a drawn signature is checked for its
# decoded size (records.MAX_SIGNATURE_BYTES) after this bound on its data: URL.
MAX_FORM_ITEMS = 100
SIGNATURE_IMAGE_CHARS = 600_000

_EVIDENCE_SHA256 = {
    "type": "string",
    "description": "SHA-256 of the record's evidence document (evidence.json: attached to the "
    "PDF and printed on it). Not the hash of the PDF: see pdf_sha256.",
}
_PDF_SHA256 = {
    "type": "string",
    "description": "SHA-256 of the record's PDF as it stands now (after a withdrawal, the file "
    "with the withdrawal added).",
}
_DOCUMENT_SHA256 = {
    "type": "string",
    "deprecated": True,
    "description": "Deprecated: the same value as evidence_sha256, under its former name (it "
    "never was the hash of the PDF).",
}


class CheckboxSpecSchema(ma.Schema):
    key = ma.fields.String(required=True, validate=_KEY)
    required = ma.fields.Boolean(load_default=True)


class FieldSpecSchema(ma.Schema):
    key = ma.fields.String(required=True, validate=_KEY)
    max_length = ma.fields.Integer(load_default=500, validate=validate.Range(1, 5000))


class LocaleTextSchema(ma.Schema):
    title = OneLine(required=True, validate=validate.Length(1, 200))
    body = ma.fields.String(required=True, validate=validate.Length(1, 50_000))
    checkboxes = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(validate=validate.Length(1, 1000)),
        load_default=dict,
        metadata={"description": "A label for each of the form's checkbox keys: exactly those."},
    )
    fields = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(validate=validate.Length(1, 300)),
        load_default=dict,
        metadata={"description": "A label for each of the form's field keys: exactly those."},
    )


class VersionContentSchema(ma.Schema):
    """A version's content: text per locale (at least one), checkboxes, fields, validity."""

    locales = ma.fields.Dict(
        keys=ma.fields.String(validate=_LOCALE),
        values=ma.fields.Nested(LocaleTextSchema),
        required=True,
        validate=validate.Length(min=1),
        metadata={
            "minProperties": 1,
            "description": "At least one language. A client whose language the form lacks "
            "gets the organization's default language, else English, else the form's first.",
        },
    )
    checkboxes = ma.fields.List(
        ma.fields.Nested(CheckboxSpecSchema),
        load_default=list,
        validate=validate.Length(max=MAX_FORM_ITEMS),
        metadata={"description": "Each with its own key; every locale labels each key."},
    )
    fields = ma.fields.List(
        ma.fields.Nested(FieldSpecSchema),
        load_default=list,
        validate=validate.Length(max=MAX_FORM_ITEMS),
        metadata={"description": "Each with its own key; every locale labels each key."},
    )
    validity_days = ma.fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(1, 3650)
    )

    @validates_schema
    def _every_locale_labels_everything(self, data: dict[str, Any], **_kwargs: Any) -> None:
        locales = data.get("locales") or {}
        for kind in ("checkboxes", "fields"):
            keys = [spec["key"] for spec in data.get(kind, [])]
            if len(set(keys)) != len(keys):
                raise ma.ValidationError("Keys must be unique.", kind)
            for locale, text in locales.items():
                if set(text[kind]) != set(keys):
                    raise ma.ValidationError(
                        f"Give a label for exactly these {kind}: {', '.join(keys) or 'none'}.",
                        f"locales.{locale}.{kind}",
                    )


class TemplateCreateSchema(VersionContentSchema):
    name = OneLine(required=True, validate=validate.Length(1, 200))


class TemplateUpdateSchema(ma.Schema):
    name = OneLine(required=True, validate=validate.Length(1, 200))


class TemplateListArgsSchema(ma.Schema):
    include_archived = ma.fields.Boolean(load_default=False)


class CheckboxSchema(ma.Schema):
    key = ma.fields.String()
    label = ma.fields.String()
    required = ma.fields.Boolean()


class FormFieldSchema(ma.Schema):
    key = ma.fields.String()
    label = ma.fields.String()
    max_length = ma.fields.Integer()


class VersionSchema(ma.Schema):
    id = ma.fields.Integer()
    template_id = ma.fields.Integer()
    number = ma.fields.Integer()
    content = ma.fields.Dict()
    body_html = ma.fields.Dict()
    validity_days = ma.fields.Integer(allow_none=True)
    content_sha256 = ma.fields.String()
    created_at = UTCDateTime()


class VersionPreviewSchema(ma.Schema):
    """A version's content as it would be published: checked, rendered, not stored."""

    content = ma.fields.Dict()
    body_html = ma.fields.Dict(
        metadata={"description": "Each locale's body as sanitized HTML, as signers see it."}
    )


class TemplateSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    created_at = UTCDateTime()
    archived_at = UTCDateTime(allow_none=True)
    current_version = ma.fields.Nested(VersionSchema)


class ClientContactSchema(ma.Schema):
    """The client's contacts: an email address or a phone number (or both), and how they hear
    from us (the rule booking's clients follow too, `shared.fields.contact_errors`)."""

    client_email = EmailAddress(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=320),
        metadata={"description": "Optional when `client_phone` is given."},
    )
    client_phone = PhoneNumber(
        load_default=None,
        allow_none=True,
        metadata={"description": "Required without `client_email`, and to hear from us by SMS."},
    )
    notify_by = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(NOTIFY_BY),
        metadata={
            "description": "How the client gets the signing link and notices: `email`, `sms` "
            "(to `client_phone`) or `both`. Default: `email`, or `sms` without an address."
        },
    )

    @validates_schema
    def _reachable(self, data: dict[str, Any], **_kwargs: Any) -> None:
        email, phone = data.get("client_email"), data.get("client_phone")
        keys = ("client_email", "client_phone")
        if errors := contact_errors(email, phone, data.get("notify_by"), keys=keys):
            raise ma.ValidationError(errors)

    @ma.post_load
    def _default_notify_by(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        data["notify_by"] = data.get("notify_by") or default_notify_by(data.get("client_email"))
        return data


class ConsentRequestCreateSchema(ClientContactSchema):
    """POST /requests, as in CONTRACTS.md (booking -> consent), plus optional extras."""

    template_id = ma.fields.Integer(required=True, validate=_ID)
    client_name = OneLine(required=True, validate=validate.Length(1, 200))
    locale = ma.fields.String(
        load_default=None,
        validate=_LOCALE,
        metadata={"description": LOCALE_DOC},
    )
    appointment_id = ma.fields.Integer(load_default=None, allow_none=True, validate=_ID)
    timezone = TimeZone(load_default="UTC")
    expires_at = UTCDateTime(
        load_default=None, allow_none=True, metadata={"description": "In the future, when given."}
    )
    send = ma.fields.Boolean(load_default=True)
    # Extras: the appointment's start (schedules a reminder 24 h before) and the staff member.
    appointment_start = UTCDateTime(load_default=None, allow_none=True)
    staff_id = ma.fields.Integer(load_default=None, allow_none=True, validate=_ID)

    @validates_schema
    def _expiry_in_future(self, data: dict[str, Any], **_kwargs: Any) -> None:
        from shared.db import utcnow

        if data.get("expires_at") is not None and data["expires_at"] <= utcnow():
            raise ma.ValidationError("Must be in the future.", "expires_at")
        if data.get("appointment_start") is not None and data.get("appointment_id") is None:
            raise ma.ValidationError("Only with an appointment_id.", "appointment_start")


class ConsentRequestListArgsSchema(ma.Schema):
    """GET /requests filters (all given ones apply)."""

    appointment_id = ma.fields.Integer(load_default=None, validate=_ID)
    client_email = OneLine(
        load_default=None,
        validate=validate.Length(1, 320),
        metadata={"description": "The client's email address, in any case."},
    )
    status = ma.fields.String(
        load_default=None,
        validate=validate.OneOf(("pending", "signed", "declined", "expired", "withdrawn")),
    )


class ConsentRequestSchema(ma.Schema):
    """A consent request as the API shows it."""

    id = ma.fields.Integer()
    status = ma.fields.String()
    template_id = ma.fields.Function(lambda r: r.version.template_id)
    template_version = ma.fields.Function(lambda r: r.version.number)
    form_title = ma.fields.Function(
        lambda r: forms.request_title(r, current_org().default_language),
        metadata={
            "description": "In the client's language, else the organization's default, else "
            "the form's own."
        },
    )
    client_name = ma.fields.String()
    client_email = ma.fields.String(allow_none=True)
    client_phone = ma.fields.String(allow_none=True)
    notify_by = ma.fields.String(metadata={"enum": list(NOTIFY_BY)})
    locale = ma.fields.String()
    timezone = ma.fields.String()
    appointment_id = ma.fields.Integer(allow_none=True)
    staff_id = ma.fields.Integer(allow_none=True)
    verbal = ma.fields.Boolean()
    expires_at = UTCDateTime()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
    signed_at = ma.fields.Function(lambda r: r.record and utc_iso(r.record.signed_at))
    withdrawn_at = ma.fields.Function(lambda r: r.record and utc_iso(r.record.withdrawn_at))
    evidence_sha256 = ma.fields.Function(
        lambda r: r.record and r.record.evidence_sha256, allow_none=True, metadata=_EVIDENCE_SHA256
    )
    pdf_sha256 = ma.fields.Function(
        lambda r: r.record and r.record.current_file_sha256, allow_none=True, metadata=_PDF_SHA256
    )
    document_sha256 = ma.fields.Function(
        lambda r: r.record and r.record.evidence_sha256, allow_none=True, metadata=_DOCUMENT_SHA256
    )


class RequestStatusSchema(ma.Schema):
    """A request's status after a decline or withdrawal by link."""

    id = ma.fields.Integer()
    status = ma.fields.String()
    updated_at = UTCDateTime()


class ConsentRequestCreatedSchema(ma.Schema):
    """The answer to POST /requests (CONTRACTS.md), dumped from a request already serialized:
    signing_url only on creation, `reused` when a valid signed consent was found instead."""

    id = ma.fields.Integer()
    status = ma.fields.String()
    template_id = ma.fields.Integer()
    template_version = ma.fields.Integer()
    form_title = ma.fields.String()
    signing_url = ma.fields.String()
    appointment_id = ma.fields.Integer(allow_none=True)
    expires_at = ma.fields.String()
    reused = ma.fields.Boolean()
    client_name = ma.fields.String()
    client_email = ma.fields.String(allow_none=True)
    client_phone = ma.fields.String(allow_none=True)
    notify_by = ma.fields.String(metadata={"enum": list(NOTIFY_BY)})
    locale = ma.fields.String()
    timezone = ma.fields.String()
    verbal = ma.fields.Boolean()
    signed_at = ma.fields.String(allow_none=True)


class EventSchema(ma.Schema):
    sequence = ma.fields.Integer()
    kind = ma.fields.String()
    occurred_at = UTCDateTime()
    timezone = ma.fields.String(allow_none=True)
    ip = ma.fields.String(allow_none=True)
    user_agent = ma.fields.String(allow_none=True)
    locale = ma.fields.String(allow_none=True)
    details = ma.fields.Dict()
    previous_hash = ma.fields.String()
    hash = ma.fields.String()


class AuditTrailSchema(ma.Schema):
    request_id = ma.fields.Integer()
    chain_intact = ma.fields.Boolean()
    broken_at = ma.fields.Integer(allow_none=True)
    events = ma.fields.List(ma.fields.Nested(EventSchema))


class SignFormSchema(ma.Schema):
    """GET /sign/{token}: what the signing page shows."""

    request_id = ma.fields.Integer(attribute="request.id")
    status = ma.fields.String(attribute="request.status")
    client_name = ma.fields.String(attribute="request.client_name")
    expires_at = UTCDateTime(attribute="request.expires_at")
    locale = ma.fields.String(attribute="form.locale")
    title = ma.fields.String(attribute="form.title")
    body_html = ma.fields.String(attribute="form.body_html")
    checkboxes = ma.fields.List(ma.fields.Nested(CheckboxSchema), attribute="form.checkboxes")
    fields = ma.fields.List(ma.fields.Nested(FormFieldSchema), attribute="form.fields")
    disclosure = ma.fields.String()
    template_version = ma.fields.Integer(attribute="request.version.number")
    content_sha256 = ma.fields.String(attribute="request.version.content_sha256")


class SignFormArgsSchema(ma.Schema):
    locale = ma.fields.String(load_default=None, validate=_LOCALE)


class SignatureSchema(ma.Schema):
    """POST /sign/{token}: a typed name is a full signature; the drawing is optional."""

    typed_name = OneLine(required=True, validate=validate.Length(1, 200))
    signature_image = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=SIGNATURE_IMAGE_CHARS),
    )
    checkboxes = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.Length(1, 40)),
        values=ma.fields.Boolean(),
        load_default=dict,
        validate=validate.Length(max=MAX_FORM_ITEMS),
    )
    fields = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.Length(1, 40)),
        values=ma.fields.String(validate=validate.Length(max=5000)),
        load_default=dict,
        validate=validate.Length(max=MAX_FORM_ITEMS),
    )
    disclosure_accepted = ma.fields.Boolean(required=True)
    proxy_relationship = OneLine(
        load_default=None, allow_none=True, validate=validate.Length(1, 100)
    )
    timezone = TimeZone(load_default=None, allow_none=True)


class SignedSchema(ma.Schema):
    request_id = ma.fields.Integer(attribute="request.id")
    status = ma.fields.String(attribute="request.status")
    record_id = ma.fields.Integer(attribute="record.id")
    evidence_sha256 = ma.fields.String(
        attribute="record.evidence_sha256", metadata=_EVIDENCE_SHA256
    )
    pdf_sha256 = ma.fields.String(attribute="record.current_file_sha256", metadata=_PDF_SHA256)
    document_sha256 = ma.fields.Function(
        lambda r: r.record.evidence_sha256, metadata=_DOCUMENT_SHA256
    )
    download_url = ma.fields.String()
    download_expires_at = UTCDateTime()


class ReasonSchema(ma.Schema):
    reason = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 1000))


class VerbalSchema(ClientContactSchema):
    """POST /verbal: staff attest a consent given out loud."""

    template_id = ma.fields.Integer(required=True, validate=_ID)
    client_name = OneLine(required=True, validate=validate.Length(1, 200))
    locale = ma.fields.String(
        load_default=None,
        validate=_LOCALE,
        metadata={"description": LOCALE_DOC},
    )
    timezone = TimeZone(load_default="UTC")
    appointment_id = ma.fields.Integer(load_default=None, allow_none=True, validate=_ID)
    staff_id = ma.fields.Integer(load_default=None, allow_none=True, validate=_ID)
    explained = ma.fields.String(required=True, validate=validate.Length(1, 5000))
    explained_by = OneLine(required=True, validate=validate.Length(1, 200))
    explained_at = UTCDateTime(required=True)
    witness = OneLine(load_default=None, allow_none=True, validate=validate.Length(1, 200))
    checkboxes = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Boolean(), load_default=None, allow_none=True
    )


class DownloadLinkCreateSchema(ma.Schema):
    days = ma.fields.Integer(load_default=7, validate=validate.Range(1, 30))


class DownloadLinkSchema(ma.Schema):
    url = ma.fields.String()
    expires_at = UTCDateTime()


class RootArgsSchema(ma.Schema):
    format = ma.fields.String(load_default="pem", validate=validate.OneOf(("pem", "der")))


def _says(description: str) -> dict[str, str]:
    return {"description": description}


class SignatureCheckSchema(ma.Schema):
    """One signature of an uploaded PDF."""

    field = ma.fields.String(metadata=_says("The signature field's name."))
    valid = ma.fields.Boolean(
        metadata=_says(
            "The signature holds: intact, cryptographically valid and trusted (all three)."
        )
    )
    intact = ma.fields.Boolean(
        metadata=_says("The bytes it signed are unchanged (their digest is the one signed).")
    )
    cryptographically_valid = ma.fields.Boolean(
        metadata=_says(
            "The signature value matches the signed digest under the signer's key; alone it "
            "says nothing about the file (pyHanko's `valid`)."
        )
    )
    trusted = ma.fields.Boolean(
        metadata=_says("The signer's certificate chains to this instance's root.")
    )
    covers_whole_file = ma.fields.Boolean(
        metadata=_says("Nothing was added to the file after this signature.")
    )
    modifications_allowed = ma.fields.Boolean(
        metadata=_says("What was added after this signature is allowed (a new signature field).")
    )
    signed_at = ma.fields.String(allow_none=True, metadata=_says("The signer's reported time."))
    signer = ma.fields.String(metadata=_says("The signing certificate's subject."))
    problem = ma.fields.String(
        allow_none=True, metadata=_says("Why the signature could not be checked.")
    )


class VerificationSchema(ma.Schema):
    """The verdict on an uploaded PDF: whether the file is authentic, and whether the consent
    it records is in force (a genuine file can record a consent since withdrawn)."""

    authentic = ma.fields.Boolean(
        metadata=_says(
            "The file is what this instance signed: every signature valid, nothing changed "
            "after the last one. Says nothing about whether the consent still holds: see in_force."
        )
    )
    valid = ma.fields.Boolean(
        metadata={
            "deprecated": True,
            "description": "Deprecated: the same value as authentic, under its former name.",
        }
    )
    reason = ma.fields.String(allow_none=True, metadata=_says("Why the file is not authentic."))
    record_id = ma.fields.Integer(allow_none=True)
    request_id = ma.fields.Integer(allow_none=True)
    status = ma.fields.String(allow_none=True, metadata=_says("The consent request's status."))
    in_force = ma.fields.Boolean(
        allow_none=True,
        metadata=_says(
            "The consent the record attests still holds: signed, not withdrawn, within its "
            "validity. Null when the file is not a record of this instance."
        ),
    )
    in_force_reason = ma.fields.String(
        allow_none=True, metadata=_says("Why the consent is not in force (withdrawn, expired).")
    )
    withdrawn_at = UTCDateTime(allow_none=True)
    valid_until = UTCDateTime(allow_none=True)
    current_revision = ma.fields.Boolean(
        allow_none=True,
        metadata=_says(
            "The file is the record as it stands now. False for an earlier revision (the "
            "record has since changed, e.g. a withdrawal was added) or a file this instance "
            "did not issue."
        ),
    )
    revision_note = ma.fields.String(
        allow_none=True, metadata=_says("What the file is when it is not the current revision.")
    )
    evidence_sha256 = ma.fields.String(allow_none=True, metadata=_EVIDENCE_SHA256)
    pdf_sha256 = ma.fields.String(allow_none=True, metadata=_PDF_SHA256)
    document_sha256 = ma.fields.Function(
        lambda v: v.evidence_sha256, allow_none=True, metadata=_DOCUMENT_SHA256
    )
    signatures = ma.fields.List(ma.fields.Nested(SignatureCheckSchema))


def client_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The client part of a create/verbal body."""
    keys = ("client_name", "client_email", "client_phone", "notify_by", "locale", "timezone")
    return {key: data.get(key) for key in keys}
