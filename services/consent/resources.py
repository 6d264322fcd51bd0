"""consent's REST API under /api/v1: thin resources that parse, check access and call operations.

Staff, admin and service tokens manage forms and requests; the signing routes take the
token from the client's link and need no API token; record downloads are by expiring link
(/records/{token}.pdf, served at the app root) or with a staff token.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, Response, current_app, request
from flask.views import MethodView
from flask_smorest import Api
from werkzeug.routing import BaseConverter

from services.consent import api_examples, privacy, schemas
from services.consent.errors import AppointmentNotFound, RecordRestricted
from services.consent.models import ApiToken, ConsentRecord, ConsentRequest, DownloadLink
from services.consent.operations import audit, forms, records, requests, signing, verification
from shared import db
from shared.api import Blueprint, whoami_blueprint
from shared.auth import current_principal, hash_token, require, token_blueprint
from shared.errors import ValidationFailed
from shared.idempotency import caller_key, fingerprint
from shared.organization import ORGANIZATION_SOURCE
from shared.pages import current_org
from shared.privacy import privacy_blueprint

STAFF_ROLES = ("admin", "staff", "service")
LINK_PATTERN = r"fd[a-z]_[A-Za-z0-9_-]{20,100}"


class LinkTokenConverter(BaseConverter):
    """A signing or download token in a URL; anything else is not a route (404)."""

    regex = LINK_PATTERN


def register_converters(app: Flask, api: Api) -> None:
    """Make `<link_token:...>` usable in routes and documented as a pattern."""
    app.url_map.converters["link_token"] = LinkTokenConverter
    api.register_converter(
        LinkTokenConverter, lambda _c: {"type": "string", "pattern": f"^{LINK_PATTERN}$"}
    )


templates_blp = Blueprint(
    "templates", __name__, url_prefix="/api/v1", description="Consent forms and their versions"
)
requests_blp = Blueprint(
    "requests",
    __name__,
    url_prefix="/api/v1",
    description="Consent requests, verbal consent, records",
)
signing_blp = Blueprint(
    "signing", __name__, url_prefix="/api/v1", description="Signing by link (public, no API token)"
)
verification_blp = Blueprint(
    "verification", __name__, url_prefix="/api/v1", description="Verify a record; the signing root"
)
downloads_blp = Blueprint(
    "downloads", __name__, url_prefix="/records", description="Record downloads by expiring link"
)


def _settings() -> records.RecordSettings:
    return records.RecordSettings.from_config(
        current_app.config, org_source=current_app.extensions[ORGANIZATION_SOURCE]
    )


def _origin(timezone: str | None = None, locale: str | None = None) -> audit.Origin:
    return audit.Origin(
        ip=request.remote_addr,
        user_agent=request.user_agent.string or None,
        timezone=timezone,
        locale=locale or request.accept_languages.best_match(forms.LOCALES),
    )


def _staff_scope() -> int | None:
    """The staff id a staff token is limited to; None for admin and service tokens."""
    principal = current_principal()
    return principal.staff_id if principal.role == "staff" else None


def _staff_for(data: dict) -> int | None:
    """The staff member a new request or verbal consent belongs to, so that they see it.

    A staff token: its own, and only for its own staff member's appointments (another's
    answers the same 404 as one that does not exist, so ids cannot be probed). Admin and
    service tokens: the `staff_id` given, else the appointment's (booking is asked).
    """
    appointment_id, own = data.get("appointment_id"), _staff_scope()
    booking = current_app.extensions["clients"].booking
    if own is not None:
        if appointment_id is not None and booking.appointment_staff_id(appointment_id) != own:
            raise AppointmentNotFound(f"There is no appointment {appointment_id}.")
        return own
    if data.get("staff_id") is None and appointment_id is not None:
        return booking.appointment_staff_id(appointment_id)
    return data.get("staff_id")


def _pdf(data: bytes, filename: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- templates --------------------------------------------------------------------------------


@templates_blp.route("/templates")
class Templates(MethodView):
    @templates_blp.arguments(schemas.TemplateListArgsSchema, location="query")
    @templates_blp.response(200, schemas.TemplateSchema(many=True))
    @require(*STAFF_ROLES)
    def get(self, args):
        """List consent forms with their current version."""
        return forms.list_templates(session=db.session(), **args)

    @templates_blp.arguments(schemas.TemplateCreateSchema)
    @templates_blp.response(201, schemas.TemplateSchema)
    @require("admin")
    def post(self, data):
        """Create a consent form with its first version."""
        name = data.pop("name")
        return forms.create_template(session=db.session(), name=name, content=data)


@templates_blp.route("/templates/<int:template_id>")
class TemplateById(MethodView):
    @templates_blp.response(200, schemas.TemplateSchema)
    @require(*STAFF_ROLES)
    def get(self, template_id):
        """One consent form with its current version."""
        return forms.get_template(session=db.session(), template_id=template_id)

    @templates_blp.arguments(schemas.TemplateUpdateSchema)
    @templates_blp.response(200, schemas.TemplateSchema)
    @require("admin")
    def patch(self, data, template_id):
        """Rename a consent form (its text changes only through new versions)."""
        session = db.session()
        template = forms.get_template(session=session, template_id=template_id)
        return forms.rename_template(session=session, template=template, name=data["name"])

    @templates_blp.response(204)
    @require("admin")
    def delete(self, template_id):
        """Archive a consent form: no new requests; versions and records are kept."""
        session = db.session()
        template = forms.get_template(session=session, template_id=template_id)
        forms.archive_template(session=session, template=template)


@templates_blp.route("/templates/<int:template_id>/versions")
class Versions(MethodView):
    @templates_blp.response(200, schemas.VersionSchema(many=True))
    @require(*STAFF_ROLES)
    def get(self, template_id):
        """Every version of a consent form, oldest first."""
        return forms.get_template(session=db.session(), template_id=template_id).versions

    @templates_blp.arguments(schemas.VersionContentSchema)
    @templates_blp.response(201, schemas.VersionSchema)
    @require("admin")
    def post(self, data, template_id):
        """Publish a new version; signed records keep the version they were signed on."""
        session = db.session()
        template = forms.get_template(session=session, template_id=template_id)
        return forms.publish_version(session=session, template=template, content=data)


@templates_blp.route("/templates/preview")
class VersionPreview(MethodView):
    @templates_blp.arguments(schemas.VersionContentSchema)
    @templates_blp.response(200, schemas.VersionPreviewSchema)
    @require("admin")
    def post(self, data):
        """Check a version's content and render it as signers would see it; nothing is stored
        (the console's preview before publishing)."""
        return {"content": data, "body_html": forms.preview_html(data)}


@templates_blp.route("/templates/<int:template_id>/versions/<int:number>")
class VersionByNumber(MethodView):
    @templates_blp.response(200, schemas.VersionSchema)
    @require(*STAFF_ROLES)
    def get(self, template_id, number):
        """One version of a consent form."""
        session = db.session()
        template = forms.get_template(session=session, template_id=template_id)
        return forms.get_version(session=session, template=template, number=number)


# --- requests ---------------------------------------------------------------------------------


def _created_view(created: requests.Created) -> dict:
    """The request as RequestCreatedSchema dumps it; signing_url only when there is one and
    the caller is not staff: whoever holds the link signs as the client, so staff get
    /requests/{id}/resend instead (booking's service token passes it on to the client)."""
    view = schemas.ConsentRequestSchema().dump(created.request) | {"reused": created.reused}
    if created.signing_url and _staff_scope() is None:
        view["signing_url"] = created.signing_url
    return view


@requests_blp.route("/requests")
class Requests(MethodView):
    @requests_blp.arguments(schemas.ConsentRequestListArgsSchema, location="query")
    @requests_blp.response(
        200,
        schemas.ConsentRequestSchema(many=True),
        description=(
            "A staff token lists only its own staff member's requests (those of their "
            "appointments, and those they made): another staff member's appointment or client "
            "lists nothing, as one without requests does."
        ),
    )
    @require(*STAFF_ROLES)
    def get(self, args):
        """List consent requests (newest first), by appointment, client email or status."""
        return requests.list_requests(session=db.session(), staff_id=_staff_scope(), **args)

    @requests_blp.arguments(
        schemas.ConsentRequestCreateSchema, example=api_examples.REQUEST_CONSENT
    )
    @requests_blp.response(
        201, schemas.ConsentRequestCreatedSchema, example=api_examples.REQUEST_CREATED
    )
    @requests_blp.alt_response(
        200, schema=schemas.ConsentRequestCreatedSchema, description="Reused"
    )
    @require(*STAFF_ROLES)
    def post(self, data):
        """Ask a client for consent; the signing link goes out by email through notify."""
        staff_id = _staff_for(data)
        session = db.session()
        key = caller_key()
        idempotency = (key, fingerprint(data)) if key else None
        template = forms.get_template(session=session, template_id=data["template_id"])
        created = requests.create_request(
            session=session,
            template=template,
            client=schemas.client_fields(data),
            settings=_settings(),
            appointment_id=data.get("appointment_id"),
            appointment_start=data.get("appointment_start"),
            staff_id=staff_id,
            expires_at=data.get("expires_at"),
            send=data["send"],
            origin=_origin(locale=data["locale"]),
            idempotency=idempotency,
        )
        status = 200 if created.reused or created.replayed else 201
        return _created_view(created), status


@requests_blp.route("/requests/<int:request_id>")
class RequestById(MethodView):
    @requests_blp.response(200, schemas.ConsentRequestSchema)
    @require(*STAFF_ROLES)
    def get(self, request_id):
        """One consent request and its status."""
        return requests.get_request(
            session=db.session(), request_id=request_id, staff_id=_staff_scope()
        )


@requests_blp.route("/requests/<int:request_id>/resend")
class RequestResend(MethodView):
    @requests_blp.response(202, schemas.ConsentRequestSchema)
    @requests_blp.alt_response(409, response="CONFLICT")
    @requests_blp.alt_response(410, response="GONE")
    @require(*STAFF_ROLES)
    def post(self, request_id):
        """Email the client their signing link again (the link itself never goes to staff)."""
        session = db.session()
        found = requests.get_request(
            session=session, request_id=request_id, staff_id=_staff_scope()
        )
        principal = current_principal()
        return requests.resend_link(
            session=session,
            request=found,
            settings=_settings(),
            origin=_origin(),
            asked_by={"by": principal.role, "staff_id": principal.staff_id},
        )


@requests_blp.route("/requests/<int:request_id>/events")
class RequestEvents(MethodView):
    @requests_blp.response(200, schemas.AuditTrailSchema)
    @requests_blp.alt_response(410, response="GONE")
    @require(*STAFF_ROLES)
    def get(self, request_id):
        """The request's hash-chained audit trail, with the result of checking the chain."""
        found = requests.get_request(
            session=db.session(), request_id=request_id, staff_id=_staff_scope()
        )
        check = audit.verify_chain(found.events)
        return {
            "request_id": found.id,
            "chain_intact": check.intact,
            "broken_at": check.broken_at,
            "events": found.events,
        }


@requests_blp.route("/requests/<int:request_id>/withdraw")
class RequestWithdrawal(MethodView):
    @requests_blp.arguments(schemas.ReasonSchema)
    @requests_blp.response(200, schemas.ConsentRequestSchema)
    @requests_blp.alt_response(410, response="GONE")
    @require(*STAFF_ROLES)
    def post(self, data, request_id):
        """Withdraw a signed consent on the client's behalf (recorded and signed on the PDF)."""
        session = db.session()
        found = requests.get_request(
            session=session, request_id=request_id, staff_id=_staff_scope()
        )
        principal = current_principal()
        who = f"staff member {principal.staff_id}" if principal.staff_id else f"{principal.role}"
        return requests.withdraw(
            session=session,
            request=found,
            withdrawn_by=f"{who}, on the client's behalf",
            settings=_settings(),
            origin=_origin(),
            reason=data["reason"],
        )


@requests_blp.route("/requests/<int:request_id>/record.pdf")
class RequestRecord(MethodView):
    @requests_blp.doc(responses={200: {"content": {"application/pdf": {}}}})
    @requests_blp.alt_response(410, response="GONE")
    @require(*STAFF_ROLES)
    def get(self, request_id):
        """Download the signed PDF record (staff token)."""
        session = db.session()
        found = requests.get_request(
            session=session, request_id=request_id, staff_id=_staff_scope()
        )
        record = requests.record_of(found)
        audit.record_event(
            session=session,
            request=found,
            kind="downloaded",
            origin=_origin(),
            details={"by": current_principal().role, "staff_id": current_principal().staff_id},
        )
        return _pdf(record.pdf, f"consent-record-{record.id}.pdf")


@requests_blp.route("/requests/<int:request_id>/download-links")
class RequestDownloadLinks(MethodView):
    @requests_blp.arguments(schemas.DownloadLinkCreateSchema)
    @requests_blp.response(201, schemas.DownloadLinkSchema)
    @requests_blp.alt_response(410, response="GONE")
    @require(*STAFF_ROLES)
    def post(self, data, request_id):
        """Make an expiring download link for the record (to give the client a copy)."""
        session = db.session()
        found = requests.get_request(
            session=session, request_id=request_id, staff_id=_staff_scope()
        )
        link, token = records.create_download_link(
            session=session, record=requests.record_of(found), days=data["days"]
        )
        return {"url": records.download_url(_settings(), token), "expires_at": link.expires_at}


@requests_blp.route("/verbal")
class VerbalConsent(MethodView):
    @requests_blp.arguments(schemas.VerbalSchema)
    @requests_blp.response(201, schemas.ConsentRequestSchema)
    @require("admin", "staff")
    def post(self, data):
        """Attest a consent given verbally: a signed record marked verbal."""
        staff_id = _staff_for(data)
        session = db.session()
        template = forms.get_template(session=session, template_id=data["template_id"])
        signed = requests.attest_verbal(
            session=session,
            template=template,
            client=schemas.client_fields(data),
            explained=data["explained"],
            explained_by=data["explained_by"],
            explained_at=data["explained_at"],
            witness=data.get("witness"),
            appointment_id=data.get("appointment_id"),
            staff_id=staff_id,
            checkboxes=data.get("checkboxes"),
            settings=_settings(),
            origin=_origin(timezone=data["timezone"], locale=data["locale"]),
        )
        return signed.request


# --- signing by link (public) ------------------------------------------------------------------


@signing_blp.route("/sign/<link_token:token>")
class SigningLink(MethodView):
    @signing_blp.arguments(schemas.SignFormArgsSchema, location="query")
    @signing_blp.response(200, schemas.SignFormSchema)
    @signing_blp.alt_response(429, response="TOO_MANY_REQUESTS")
    @signing_blp.alt_response(410, response="GONE")
    def get(self, args, token):
        """The form behind a signing link, in the client's language (?locale= to switch)."""
        return requests.view_form(
            session=db.session(),
            token=token,
            origin=_origin(),
            settings=_settings(),
            locale=args["locale"],
        )

    @signing_blp.arguments(schemas.SignatureSchema, example=api_examples.SIGN)
    @signing_blp.response(200, schemas.SignedSchema)
    @signing_blp.alt_response(429, response="TOO_MANY_REQUESTS")
    @signing_blp.alt_response(410, response="GONE")
    def post(self, data, token):
        """Sign: typed full name (a drawn PNG/SVG signature is optional), required boxes, disclosure."""
        return requests.sign(
            session=db.session(),
            token=token,
            typed_name=data["typed_name"],
            disclosure_accepted=data["disclosure_accepted"],
            checkboxes=data["checkboxes"],
            fields=data["fields"],
            signature_image=data["signature_image"],
            proxy_relationship=data["proxy_relationship"],
            settings=_settings(),
            origin=_origin(timezone=data["timezone"]),
        )


@signing_blp.route("/sign/<link_token:token>/decline")
class SigningDecline(MethodView):
    @signing_blp.arguments(schemas.ReasonSchema)
    @signing_blp.response(200, schemas.RequestStatusSchema)
    @signing_blp.alt_response(429, response="TOO_MANY_REQUESTS")
    @signing_blp.alt_response(410, response="GONE")
    def post(self, data, token):
        """Decline to sign."""
        return requests.decline(
            session=db.session(), token=token, origin=_origin(), reason=data["reason"]
        )


@signing_blp.route("/sign/<link_token:token>/withdraw")
class SigningWithdrawal(MethodView):
    @signing_blp.arguments(schemas.ReasonSchema)
    @signing_blp.response(200, schemas.RequestStatusSchema)
    @signing_blp.alt_response(429, response="TOO_MANY_REQUESTS")
    @signing_blp.alt_response(410, response="GONE")
    def post(self, data, token):
        """Withdraw a signed consent from the client's own link."""
        return requests.withdraw_by_token(
            session=db.session(),
            token=token,
            settings=_settings(),
            origin=_origin(),
            reason=data["reason"],
        )


# --- verification -----------------------------------------------------------------------------


@verification_blp.route("/verify")
class Verify(MethodView):
    accepts = ("application/pdf", "multipart/form-data")

    @verification_blp.doc(
        requestBody={
            "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            }
        }
    )
    @verification_blp.response(200, schemas.VerificationSchema)
    @verification_blp.alt_response(429, response="TOO_MANY_REQUESTS")
    def post(self):
        """Check a PDF: which record, signature intact, whole file covered, chains to our root."""
        if request.mimetype == "multipart/form-data":
            upload = request.files.get("file")
            if upload is None:
                raise ValidationFailed(
                    "Send the PDF in the 'file' field.", errors={"file": ["Missing."]}
                )
            pdf = upload.read()
        else:
            pdf = request.get_data()
        if not pdf:
            raise ValidationFailed("Send a PDF to verify.", errors={"file": ["Empty."]})
        return verification.verify_pdf(session=db.session(), pdf=pdf, org=_settings().signer())


@verification_blp.route("/signing-root.pem")
class SigningRoot(MethodView):
    @verification_blp.arguments(schemas.RootArgsSchema, location="query")
    @verification_blp.doc(
        responses={200: {"content": {"application/x-pem-file": {}, "application/pkix-cert": {}}}}
    )
    def get(self, args):
        """The root certificate records chain to, for offline validation (?format=der to import)."""
        pem = _settings().signer().root_pem
        if args["format"] == "der":
            body, mimetype, name = signing.pem_to_der(pem), "application/pkix-cert", "cer"
        else:
            body, mimetype, name = pem, "application/x-pem-file", "pem"
        response = Response(body, mimetype=mimetype)
        response.headers["Content-Disposition"] = (
            f'attachment; filename="consent-signing-root.{name}"'
        )
        return response


# --- downloads --------------------------------------------------------------------------------


@downloads_blp.route("/<link_token:token>.pdf")
class RecordDownload(MethodView):
    @downloads_blp.doc(responses={200: {"content": {"application/pdf": {}}}})
    @downloads_blp.alt_response(429, response="TOO_MANY_REQUESTS")
    @downloads_blp.alt_response(410, response="GONE")
    def get(self, token):
        """Download a record by its expiring link."""
        record = records.record_for_download(session=db.session(), token=token, origin=_origin())
        return _pdf(record.pdf, f"consent-record-{record.id}.pdf")


# Routes that would hand out a restricted record or its evidence, by the argument naming it.
RESTRICTED_ENDPOINTS = {
    "requests.RequestRecord": "request_id",
    "requests.RequestDownloadLinks": "request_id",
    "requests.RequestEvents": "request_id",
    "requests.RequestWithdrawal": "request_id",
    "downloads.RecordDownload": "token",
}


def _refuse_restricted_records() -> None:
    """410 record_restricted on a restricted record's download, links, trail or withdrawal.

    Runs after the token check; a staff member asking for another staff member's request
    gets the route's own 404, so restriction reveals nothing about other people's rows.
    """
    argument = RESTRICTED_ENDPOINTS.get(request.endpoint or "")
    if argument is None:
        return
    session = db.session()
    value = (request.view_args or {}).get(argument)
    if argument == "token":
        request_id = session.scalar(
            sa.select(ConsentRecord.request_id)
            .join(DownloadLink, DownloadLink.record_id == ConsentRecord.id)
            .where(DownloadLink.token_hash == hash_token(value))
        )
    else:
        found = (
            session.get(ConsentRequest, value) if isinstance(value, int) and value < 2**31 else None
        )
        principal = current_principal()
        if found is None or principal is None:
            return  # nothing is handed out without a token (the route itself asks for one)
        if principal.role == "staff" and found.staff_id != principal.staff_id:
            return
        request_id = found.id
    if request_id is not None and privacy.is_restricted(session=session, request_id=request_id):
        raise RecordRestricted(
            "The client asked for their data to be erased: this record is kept only as legal "
            "evidence and can no longer be downloaded, shared or changed."
        )


def _privacy_blueprint() -> Blueprint:
    """Export and erasure, with restricted records refused on every route that hands one out."""

    def export(**lookup):
        # Form titles a client's language lacks are given in the organization's default.
        return privacy.export_client(**lookup, default_language=current_org().default_language)

    blp = privacy_blueprint(export=export, erase=privacy.erase_client)
    blp.before_app_request(_refuse_restricted_records)
    return blp


def blueprints() -> list[Blueprint]:
    """Every API blueprint of the service, in registration order."""
    return [
        whoami_blueprint(),
        templates_blp,
        requests_blp,
        signing_blp,
        verification_blp,
        downloads_blp,
        _privacy_blueprint(),
        token_blueprint(ApiToken),
    ]
