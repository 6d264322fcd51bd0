"""The client's consent pages: read and sign a form from the emailed link, decline, withdraw.

Server-rendered and complete without JavaScript: a typed full name is a whole signature, the
drawn one is an extra. Each page is in the client's language (the one stored on the request)
unless `?lang=` picks another. The link's token is the client's only credential, so these
pages call the same operations as the signing API (services.consent.requests) and never show
the token to another site (shared.pages sends `Referrer-Policy: no-referrer`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, Flask, current_app, g, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext
from flask_limiter import Limiter
from werkzeug.exceptions import HTTPException

from services.consent import forms, records, requests
from services.consent.audit import Origin
from services.consent.errors import AlreadySigned, NotSigned, SigningLinkUsed
from services.consent.models import ConsentRequest
from shared import db
from shared.errors import FrontdeskError, ValidationFailed
from shared.pages import (
    LANGUAGES,
    N_,
    CsrfFailed,
    render_error_page,
    select_language,
)
from shared.plain_text import one_line_problem

# Signing, declining, withdrawing and asking for a copy, per address; generous enough for a
# family or a clinic signing on one connection, tight enough to stop guessing and flooding.
POST_LIMIT = "10 per minute;60 per hour"
NAME_MAX = 200
RELATIONSHIP_MAX = 100
REASON_MAX = 1000
SIGNATURE_MAX = records.MAX_SIGNATURE_BYTES * 4 // 3 + 100  # base64 of the largest image

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


def register(app: Flask, limiter: Limiter) -> None:
    """Serve the pages on `app`, with their POSTs rate-limited by `limiter`."""
    limiter.limit(POST_LIMIT, methods=["POST"])(blueprint)
    app.register_blueprint(blueprint)


# --- language, context, errors -----------------------------------------------------------------


def _language(client_language: str | None) -> str:
    """?lang= when it names a language we have, else the client's own language."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    return client_language if client_language in LANGUAGES else "en"


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
    return records.RecordSettings.from_config(current_app.config)


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

    def problems(self, form: forms.LocalizedForm) -> dict[str, Any]:
        """Every problem at once, keyed by the input's id, in page order (the operation
        checks again; this is so the client fixes everything in one go)."""
        errors: dict[str, Any] = {}
        for box in form.checkboxes:
            if box["required"] and not self.checkboxes.get(box["key"]):
                errors[f"checkbox_{box['key']}"] = (MESSAGES["checkbox"], {"label": box["label"]})
        for spec in form.fields:
            if len(self.fields.get(spec["key"], "")) > spec["max_length"]:
                errors[f"field_{spec['key']}"] = MESSAGES["field_long"]
        if not self.disclosure_accepted:
            errors["disclosure_accepted"] = MESSAGES["disclosure_accepted"]
        if not self.typed_name:
            errors["typed_name"] = MESSAGES["typed_name"]
        elif len(self.typed_name) > NAME_MAX:
            errors["typed_name"] = MESSAGES["typed_name_long"]
        elif one_line_problem(self.typed_name):
            errors["typed_name"] = MESSAGES["typed_name_chars"]
        if self.signer == "proxy" and not self.proxy_relationship:
            errors["proxy_relationship"] = MESSAGES["proxy_relationship"]
        elif len(self.proxy_relationship) > RELATIONSHIP_MAX:
            errors["proxy_relationship"] = MESSAGES["proxy_relationship_long"]
        elif one_line_problem(self.proxy_relationship):
            errors["proxy_relationship"] = MESSAGES["typed_name_chars"]
        if len(self.signature_image) > SIGNATURE_MAX:
            errors["signature_image"] = MESSAGES["signature_image"]
        return errors


def _page_errors(exc: ValidationFailed, form: forms.LocalizedForm) -> dict[str, Any]:
    """The operation's field errors ("checkboxes.recording") as page input ids and messages."""
    labels = {box["key"]: box["label"] for box in form.checkboxes}
    errors: dict[str, Any] = {}
    for key in exc.errors or {"typed_name": None}:
        kind, _, name = key.partition(".")
        if kind == "checkboxes":
            errors[f"checkbox_{name}"] = (MESSAGES["checkbox"], {"label": labels.get(name, name)})
        elif kind == "fields":
            errors[f"field_{name}"] = MESSAGES["field_long"]
        elif kind in MESSAGES:
            errors[kind] = MESSAGES[kind]
        else:
            errors["typed_name"] = MESSAGES["typed_name"]
    return errors


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
    form = forms.localize(consent.version, lang)
    return _page(
        "pages/sign.html",
        lang,
        status,
        token=token,
        consent=consent,
        form=form,
        answers=answers or Answers(),
        errors=errors or {},
        limits={"name": NAME_MAX, "relationship": RELATIONSHIP_MAX, "reason": REASON_MAX},
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
        form=forms.localize(consent.version, lang),
        record=consent.record,
        **extra,
    )


@blueprint.get("/sign/<link_token:token>")
def sign_form(token: str):
    """The form to read and sign, or a kind page when it is signed already."""
    view = requests.view_form(session=db.session(), token=token, origin=_origin())
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
    form = forms.localize(consent.version, lang)
    answers = Answers.from_form(form)
    problems = answers.problems(form)
    if problems:
        return _form_page(token, consent, lang, answers, problems, 422)
    try:
        signed = requests.sign(
            session=session,
            token=token,
            typed_name=answers.typed_name,
            disclosure_accepted=answers.disclosure_accepted,
            checkboxes=answers.checkboxes,
            fields={key: value for key, value in answers.fields.items() if value},
            signature_image=answers.signature_image or None,
            proxy_relationship=answers.proxy_relationship if answers.signer == "proxy" else None,
            disclosure="\n".join(_disclosure(lang)),
            settings=_settings(),
            origin=_origin(_known_zone(answers.timezone)),
        )
    except AlreadySigned:
        return _signed_page(token, consent, lang, 409, already=True)
    except ValidationFailed as exc:
        return _form_page(token, consent, lang, answers, _page_errors(exc, form), 422)
    return _signed_page(
        token,
        signed.request,
        lang,
        download_url=signed.download_url,
        download_expires_at=signed.download_expires_at,
    )


def _known_zone(name: str) -> str | None:
    """The browser's time zone if it is a real one (it is only a hint for the audit trail)."""
    if not name or len(name) > 64:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


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
    answers = Answers.from_form(forms.localize(consent.version, consent.locale))
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
    reason = request.form.get("reason", "").strip()
    if len(reason) > REASON_MAX:
        return reason, {"reason": MESSAGES["reason_long"]}
    return reason or None, {}


@blueprint.get("/sign/<link_token:token>/decline")
def decline_form(token: str):
    """Ask once more before declining, with room for a reason."""
    consent = requests.request_for_token(session=db.session(), token=token)
    lang = _language(consent.locale)
    if consent.status == "signed":
        return _signed_page(token, consent, lang, already=True)
    return _page("pages/decline.html", lang, token=token, consent=consent, errors={}, reason="")


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
        return _page(
            "pages/decline.html",
            lang,
            422,
            token=token,
            consent=consent,
            errors=errors,
            reason=reason,
        )
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
    return _page("pages/withdraw.html", lang, token=token, consent=consent, errors={}, reason="")


@blueprint.post("/sign/<link_token:token>/withdraw")
def withdraw(token: str):
    """Withdraw: recorded, added to the signed record, and the team is told."""
    session = db.session()
    consent = requests.request_for_token(session=session, token=token)
    lang = _language(consent.locale)
    reason, errors = _reason()
    if errors:
        return _page(
            "pages/withdraw.html",
            lang,
            422,
            token=token,
            consent=consent,
            errors=errors,
            reason=reason,
        )
    try:
        requests.withdraw_by_token(
            session=session, token=token, settings=_settings(), origin=_origin(), reason=reason
        )
    except NotSigned:
        return redirect(url_for(".sign_form", token=token, lang=request.args.get("lang")), 303)
    return _page("pages/withdrawn.html", lang, consent=consent)
