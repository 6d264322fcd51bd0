"""The client's consent pages: read and sign a form from the emailed link, decline, withdraw.

Server-rendered and complete without JavaScript: a typed full name is a whole signature, the
drawn one is an extra. Each page is in the client's language (the one stored on the request)
unless `?lang=` picks another. The link's token is the client's only credential, so these
pages call the same operations as the signing API (services.consent.operations.requests) and never show
the token to another site (shared.pages sends `Referrer-Policy: no-referrer`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, current_app, g, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext
from werkzeug.exceptions import HTTPException

from services.consent.errors import AlreadySigned, NotSigned, SigningLinkUsed
from services.consent.models import ConsentRequest
from services.consent.operations import forms, records, requests
from services.consent.operations.audit import Origin
from services.consent.schemas import ReasonSchema, SignatureSchema
from shared import db
from shared.errors import FrontdeskError, ValidationFailed
from shared.fields import is_time_zone, load_or_fail, max_length
from shared.organization import ORGANIZATION_SOURCE
from shared.pages import (
    LANGUAGES,
    N_,
    CsrfFailed,
    render_error_page,
    select_language,
)
from shared.plain_text import NOT_ONE_LINE

blueprint = Blueprint("consent_pages", __name__, template_folder="templates")

MESSAGES = {
    "typed_name": N_("Type your full name to sign."),
    "typed_name_long": N_("Your name can have at most 200 characters."),
    "typed_name_chars": N_("Type your name on one line, without special characters."),
    "disclosure_accepted": N_(
        "Tick this box to sign online. If you prefer paper, ask us for a paper form."
    ),
    "checkbox": N_("To sign, tick: %(label)s"),
    "field_long": N_("This answer is too long. Please shorten it."),
    "proxy_relationship": N_("Tell us how you are related to the person you sign for."),
    "proxy_relationship_long": N_("Please use at most 100 characters."),
    "signature_image": N_(
        "We could not read the drawing. Clear it and draw again, or just type your name."
    ),
    "reason_long": N_("Please use at most 1000 characters."),
    "csrf": N_("This page was open for a long time. Please check your answers and send again."),
}


def register(app: Flask) -> None:
    """Serve the pages on `app` (their rate limits: services.consent.rate_limits)."""
    app.register_blueprint(blueprint)


# --- language, context, errors -----------------------------------------------------------------


def _language(client_language: str | None) -> str:
    """?lang= when it names a language we have, else the client's own language, else the
    organization's default."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    if client_language in LANGUAGES:
        return client_language
    return _org_language()


def _org_language() -> str:
    """The organization's default language (booking's profile, cached)."""
    return current_app.extensions[ORGANIZATION_SOURCE]().default_language


def _localized(consent: ConsentRequest, lang: str) -> forms.LocalizedForm:
    """The form in the page's language, else the client's, else the organization's default."""
    return forms.localize(consent.version, lang, consent.locale, _org_language())


def _page(template: str, lang: str, http_status: int = 200, **context: Any) -> tuple[str, int]:
    """Render a page in `lang`: the html lang attribute, every string, the error messages."""
    with force_locale(lang):
        g.lang = lang
        errors = {key: _translate(message) for key, message in context.pop("errors", {}).items()}
        return render_template(template, lang=lang, errors=errors, **context), http_status


def _translate(message: str | tuple[str, dict[str, str]]) -> str:
    """An error message msgid, or (msgid, values) for one that names the field."""
    if isinstance(message, tuple):
        return gettext(message[0], **message[1])
    return gettext(message)


def _origin(timezone: str | None = None) -> Origin:
    return Origin(
        ip=request.remote_addr,
        user_agent=request.user_agent.string or None,
        timezone=timezone,
        locale=request.args.get("lang") if request.args.get("lang") in LANGUAGES else None,
    )


def _settings() -> records.RecordSettings:
    return records.RecordSettings.from_config(
        current_app.config, org_source=current_app.extensions[ORGANIZATION_SOURCE]
    )


@blueprint.errorhandler(FrontdeskError)
def _friendly_error(exc: FrontdeskError):
    """Every error on these pages is a page, whatever the Accept header says."""
    if isinstance(exc, CsrfFailed) and request.endpoint == "consent_pages.sign":
        return _sign_again_after_csrf_failure()
    if isinstance(exc, SigningLinkUsed):
        return _used_link_page()
    return render_error_page(exc.status, exc.code, exc.detail)


@blueprint.errorhandler(HTTPException)
def _friendly_http_error(exc: HTTPException):
    status = exc.code or 500
    response = render_error_page(status, "too_many_requests" if status == 429 else "http_error", "")
    if status == 429:
        response.headers["Retry-After"] = "60"
    return response


def _used_link_page():
    lang = select_language()  # the client's stored language is behind the closed link
    return _page(
        "error.html",
        lang,
        410,
        title=N_("This link was already used"),
        advice=N_(
            "This consent was declined or withdrawn, so the link no longer works. "
            "If you want to give your consent again, ask us for a new link."
        ),
        status=410,
        code="signing_link_used",
    )


# --- the form ----------------------------------------------------------------------------------


@dataclass
class Answers:
    """What the client typed and ticked, kept to fill the form again after an error."""

    typed_name: str = ""
    disclosure_accepted: bool = False
    checkboxes: dict[str, bool] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    signer: str = "self"
    proxy_relationship: str = ""
    signature_image: str = ""
    timezone: str = ""

    @classmethod
    def from_form(cls, form: forms.LocalizedForm) -> Answers:
        """Read the posted form; only the form's own checkboxes and fields are looked at."""
        posted = request.form
        return cls(
            typed_name=posted.get("typed_name", "").strip(),
            disclosure_accepted=posted.get("disclosure_accepted") == "yes",
            checkboxes={
                box["key"]: posted.get(f"checkbox_{box['key']}") == "yes" for box in form.checkboxes
            },
            fields={spec["key"]: posted.get(f"field_{spec['key']}", "") for spec in form.fields},
            signer="proxy" if posted.get("signer") == "proxy" else "self",
            proxy_relationship=posted.get("proxy_relationship", "").strip(),
            signature_image=posted.get("signature_image", "").strip(),
            timezone=posted.get("timezone", "").strip(),
        )

    def signature(self) -> dict[str, Any]:
        """The answers as the signing API takes them (SignatureSchema)."""
        return {
            "typed_name": self.typed_name,
            "signature_image": self.signature_image or None,
            "checkboxes": self.checkboxes,
            "fields": {key: value for key, value in self.fields.items() if value},
            "disclosure_accepted": self.disclosure_accepted,
            "proxy_relationship": self.proxy_relationship if self.signer == "proxy" else None,
        }

    def problems(self, form: forms.LocalizedForm) -> dict[str, list[str]]:
        """Every problem at once, by field: the signing API's schema and the operation's own
        answer checks (the operation checks again when signing)."""
        signature = self.signature()
        errors: dict[str, list[str]] = {}
        try:
            load_or_fail(SignatureSchema(), signature)
        except ValidationFailed as exc:
            errors.update(exc.errors or {})
        if self.signer == "proxy" and not self.proxy_relationship:
            errors["proxy_relationship"] = ["Required when signing for someone else."]
        problems = requests.signer_problems(
            typed_name=self.typed_name, disclosure_accepted=self.disclosure_accepted
        ) + requests.answer_problems(
            form=form,
            checkboxes=signature["checkboxes"],
            fields=signature["fields"],
            signature_image=signature["signature_image"],
        )
        for problem in problems:
            errors.update(problem.errors or {})
        return errors


def _page_errors(
    errors: dict[str, list[str]], form: forms.LocalizedForm, answers: Answers
) -> dict[str, Any]:
    """Field errors of the schema or the operation ("checkboxes.recording") as page input ids
    and messages, in page order: the one place these pages word an answer's problem."""
    labels = {box["key"]: box["label"] for box in form.checkboxes}
    page: dict[str, Any] = {}
    for key, messages in (errors or {"typed_name": []}).items():
        kind, _, name = key.partition(".")
        if kind == "checkboxes":
            page[f"checkbox_{name}"] = (MESSAGES["checkbox"], {"label": labels.get(name, name)})
        elif kind == "fields":
            page[f"field_{name}"] = MESSAGES["field_long"]
        elif kind in ("typed_name", "proxy_relationship"):
            page[kind] = _one_line_message(kind, getattr(answers, kind), messages)
        elif kind in MESSAGES:
            page[kind] = MESSAGES[kind]
        else:
            page["typed_name"] = MESSAGES["typed_name"]
    order = [
        *(f"checkbox_{box['key']}" for box in form.checkboxes),
        *(f"field_{spec['key']}" for spec in form.fields),
        "disclosure_accepted",
        "typed_name",
        "proxy_relationship",
        "signature_image",
    ]
    return dict(sorted(page.items(), key=lambda item: order.index(item[0])))


def _one_line_message(key: str, value: str, messages: list[str]) -> str:
    """A typed name's or relationship's problem: missing, too long, or not one plain line."""
    if not value:
        return MESSAGES[key]
    if len(value) > max_length(SignatureSchema(), key):
        return MESSAGES[f"{key}_long"]
    if NOT_ONE_LINE in messages:
        return MESSAGES["typed_name_chars"]
    return MESSAGES[key]


# The electronic-records disclosure (ESIGN) as the page shows it; what the signer saw, in their
# language, is what the audit trail records.
DISCLOSURE_ITEMS = (
    N_("Your online signature counts the same as signing on paper."),
    N_("You can ask us for a paper copy, or to sign on paper instead. It costs nothing."),
    N_(
        "You can withdraw your consent at any time, as easily as you gave it: use the link in your email, or tell us."
    ),
    N_(
        "After signing, you get a copy of the signed form as a PDF file. Most phones and computers can open it."
    ),
    N_("If your email address changes, tell us so your copies still reach you."),
)


def _disclosure(lang: str) -> list[str]:
    """The disclosure's items in the page's language."""
    with force_locale(lang):
        return [gettext(item) for item in DISCLOSURE_ITEMS]


def _form_page(
    token: str,
    consent: ConsentRequest,
    lang: str,
    answers: Answers | None = None,
    errors: dict[str, Any] | None = None,
    status: int = 200,
    notice: str | None = None,
):
    form = _localized(consent, lang)
    return _page(
        "pages/sign.html",
        lang,
        status,
        token=token,
        consent=consent,
        form=form,
        answers=answers or Answers(),
        errors=errors or {},
        limits={
            "name": max_length(SignatureSchema(), "typed_name"),
            "relationship": max_length(SignatureSchema(), "proxy_relationship"),
        },
        notice=notice,
        disclosure=_disclosure(lang),
    )


def _signed_page(token: str, consent: ConsentRequest, lang: str, status: int = 200, **extra: Any):
    return _page(
        "pages/signed.html",
        lang,
        status,
        token=token,
        consent=consent,
        form=_localized(consent, lang),
        record=consent.record,
        **extra,
    )


@blueprint.get("/sign/<link_token:token>")
def sign_form(token: str):
    """The form to read and sign, or a kind page when it is signed already."""
    view = requests.view_form(
        session=db.session(), token=token, origin=_origin(), settings=_settings()
    )
    lang = _language(view.request.locale)
    if view.request.status == "signed":
        return _signed_page(token, view.request, lang, already=True)
    return _form_page(token, view.request, lang)


@blueprint.post("/sign/<link_token:token>")
def sign(token: str):
    """Sign with the typed name (and a drawing if there is one), then say thank you."""
    session = db.session()
    consent = requests.request_for_token(session=session, token=token)
    lang = _language(consent.locale)
    if consent.status == "signed":
        return _signed_page(token, consent, lang, 409, already=True)
    if request.form.get("website"):
        # The honeypot: people never see this field, form-filling robots do.
        return render_error_page(400, "honeypot", "")
    form = _localized(consent, lang)
    answers = Answers.from_form(form)
    if problems := answers.problems(form):
        return _form_page(token, consent, lang, answers, _page_errors(problems, form, answers), 422)
    try:
        signed = requests.sign(
            session=session,
            token=token,
            **answers.signature(),
            disclosure="\n".join(_disclosure(lang)),
            settings=_settings(),
            origin=_origin(_known_zone(answers.timezone)),
        )
    except AlreadySigned:
        return _signed_page(token, consent, lang, 409, already=True)
    except ValidationFailed as exc:
        errors = _page_errors(exc.errors or {}, form, answers)
        return _form_page(token, consent, lang, answers, errors, 422)
    return _signed_page(
        token,
        signed.request,
        lang,
        download_url=signed.download_url,
        download_expires_at=signed.download_expires_at,
    )


def _known_zone(name: str) -> str | None:
    """The browser's time zone if it is a real one (it is only a hint for the audit trail)."""
    return name if name and len(name) <= 64 and is_time_zone(name) else None


def _sign_again_after_csrf_failure():
    """The form expired (or the session cookie was lost): show it again with every answer."""
    token = request.view_args["token"]
    try:
        consent = requests.request_for_token(session=db.session(), token=token)
    except FrontdeskError as exc:
        return _friendly_error(exc)
    lang = _language(consent.locale)
    if consent.status == "signed":
        return _signed_page(token, consent, lang, 409, already=True)
    answers = Answers.from_form(_localized(consent, consent.locale))
    return _form_page(token, consent, lang, answers, status=400, notice=MESSAGES["csrf"])


@blueprint.post("/sign/<link_token:token>/copy")
def copy(token: str):
    """A fresh expiring download link for a signed record, followed at once."""
    session = db.session()
    consent = requests.request_for_token(session=session, token=token)
    if consent.status != "signed":
        return redirect(url_for(".sign_form", token=token, lang=request.args.get("lang")), 303)
    _link, download_token = records.create_download_link(
        session=session, record=requests.record_of(consent)
    )
    return redirect(records.download_url(_settings(), download_token), 303)


# --- decline -----------------------------------------------------------------------------------


def _reason() -> tuple[str | None, dict[str, str]]:
    """The optional reason to decline or withdraw, checked by the API's ReasonSchema."""
    reason = request.form.get("reason", "").strip()
    try:
        load_or_fail(ReasonSchema(), {"reason": reason or None})
    except ValidationFailed:
        return reason, {"reason": MESSAGES["reason_long"]}
    return reason or None, {}


def _reason_page(
    template: str,
    token: str,
    consent: ConsentRequest,
    lang: str,
    status: int = 200,
    reason: str | None = "",
    errors: dict[str, str] | None = None,
):
    """The decline or withdraw page: one button and an optional reason (kept on error)."""
    return _page(
        template,
        lang,
        status,
        token=token,
        consent=consent,
        errors=errors or {},
        reason=reason,
        limits={"reason": max_length(ReasonSchema(), "reason")},
    )


@blueprint.get("/sign/<link_token:token>/decline")
def decline_form(token: str):
    """Ask once more before declining, with room for a reason."""
    consent = requests.request_for_token(session=db.session(), token=token)
    lang = _language(consent.locale)
    if consent.status == "signed":
        return _signed_page(token, consent, lang, already=True)
    return _reason_page("pages/decline.html", token, consent, lang)


@blueprint.post("/sign/<link_token:token>/decline")
def decline(token: str):
    """Decline: the request is closed and the team is told."""
    session = db.session()
    consent = requests.request_for_token(session=session, token=token)
    lang = _language(consent.locale)
    if consent.status == "signed":
        return _signed_page(token, consent, lang, 409, already=True)
    reason, errors = _reason()
    if errors:
        return _reason_page("pages/decline.html", token, consent, lang, 422, reason, errors)
    requests.decline(session=session, token=token, origin=_origin(), reason=reason)
    return _page("pages/declined.html", lang, consent=consent)


# --- withdraw ----------------------------------------------------------------------------------


@blueprint.get("/sign/<link_token:token>/withdraw")
def withdraw_form(token: str):
    """Withdraw a consent given earlier: one page, one button."""
    consent = requests.request_for_token(session=db.session(), token=token)
    if consent.status != "signed":
        return redirect(url_for(".sign_form", token=token, lang=request.args.get("lang")), 303)
    lang = _language(consent.locale)
    return _reason_page("pages/withdraw.html", token, consent, lang)


@blueprint.post("/sign/<link_token:token>/withdraw")
def withdraw(token: str):
    """Withdraw: recorded, added to the signed record, and the team is told."""
    session = db.session()
    consent = requests.request_for_token(session=session, token=token)
    lang = _language(consent.locale)
    reason, errors = _reason()
    if errors:
        return _reason_page("pages/withdraw.html", token, consent, lang, 422, reason, errors)
    try:
        requests.withdraw_by_token(
            session=session, token=token, settings=_settings(), origin=_origin(), reason=reason
        )
    except NotSigned:
        return redirect(url_for(".sign_form", token=token, lang=request.args.get("lang")), 303)
    return _page("pages/withdrawn.html", lang, consent=consent)
