"""Consent's domain errors, each with a stable machine code."""

from __future__ import annotations

from shared.errors import Conflict, Gone, NotFound, ServiceUnavailable, ValidationFailed


class TemplateNotFound(NotFound):
    code = "template_not_found"
    title = "No such consent form"


class VersionNotFound(NotFound):
    code = "version_not_found"
    title = "No such form version"


class TemplateArchived(Conflict):
    code = "template_archived"
    title = "This consent form is archived"


class RequestNotFound(NotFound):
    code = "request_not_found"
    title = "No such consent request"


class AppointmentNotFound(NotFound):
    """Booking's own code for an appointment that is not there (or not the caller's)."""

    code = "appointment_not_found"
    title = "No such appointment"


class RecordNotFound(NotFound):
    code = "record_not_found"
    title = "No signed record for this request"


class SigningLinkUnknown(NotFound):
    code = "signing_link_unknown"
    title = "This signing link is not valid"


class SigningLinkExpired(Gone):
    code = "signing_link_expired"
    title = "This signing link has expired"


class SigningLinkUsed(Gone):
    code = "signing_link_used"
    title = "This signing link was already used"


class AlreadySigned(Conflict):
    code = "already_signed"
    title = "This consent was already signed"


class NotSigned(Conflict):
    code = "not_signed"
    title = "Only a signed consent can be withdrawn"


class DownloadLinkUnknown(NotFound):
    code = "download_link_unknown"
    title = "This download link is not valid"


class DownloadLinkExpired(Gone):
    code = "download_link_expired"
    title = "This download link has expired"


class MissingCheckboxes(ValidationFailed):
    code = "required_checkboxes_missing"
    title = "Required checkboxes are not ticked"


class InvalidSignatureImage(ValidationFailed):
    code = "signature_image_invalid"
    title = "The drawn signature is not a usable image"


class SigningUnavailable(ServiceUnavailable):
    code = "signing_unavailable"
    title = "Records cannot be signed right now"


class RecordRestricted(Gone):
    """A record kept only as evidence after the client's erasure: no download, link or change."""

    code = "record_restricted"
    title = "This record is restricted"
