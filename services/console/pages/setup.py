"""Setup (admins): the organization profile, staff and services, each an edit form over
booking's API. Booking's field errors (problem+json) show next to the fields, input kept.

The forms send what was typed (numbers as text too): booking's schemas are the one place the
values are checked, so a page never re-implements their rules.
"""

from __future__ import annotations

from typing import Any

from flask import abort, g, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from services.console.errors import ApiProblem
from services.console.operations import sessions
from services.console.pages.access import deliver_after_response, field_errors, page_blueprint
from shared import db
from shared.pages import LANGUAGES

blueprint = page_blueprint("console_setup", admin=True)

ROLES = ("staff", "admin")
ORGANIZATION_FIELDS = ("name", "phone", "email", "address", "reply_to", "default_language")
STAFF_TEXT = ("name", "email", "time_zone", "role", "video_link_template", "dial_in")
SERVICE_NUMBERS = (
    "duration_minutes",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "min_notice_minutes",
    "horizon_days",
    "slot_step_minutes",
    "capacity",
)
NEW_SERVICE = {
    "duration_minutes": 45,
    "modes": ["video"],
    "buffer_before_minutes": 0,
    "buffer_after_minutes": 0,
    "min_notice_minutes": 60,
    "horizon_days": 60,
    "slot_step_minutes": 15,
    "capacity": 1,
    "reminder_offsets_minutes": [1440, 60],
    "listed": True,
    "active": True,
}


def _problem_or_raise(problem: ApiProblem) -> dict[str, str]:
    """A caller's mistake as field errors; a service's failure goes on up (the error page)."""
    if problem.status >= 500:
        raise problem
    if problem.status == 404:
        abort(404)
    return field_errors(problem)


@blueprint.get("/setup")
def index():
    """Setup starts at the organization profile."""
    return redirect(url_for("console_setup.organization"))


# --- organization profile ---


@blueprint.get("/setup/organization")
def organization():
    """The organization profile form (or 'not available yet' while booking has no API)."""
    profile = g.api.booking.organization()
    return _organization_page(
        {},
        _organization_values(profile),
        available=profile is not None,
        saved="saved" in request.args,
    )


def _organization_values(profile: dict[str, Any] | None) -> dict[str, Any]:
    """Booking's profile as the form's fields."""
    values: dict[str, Any] = {name: (profile or {}).get(name) or "" for name in ORGANIZATION_FIELDS}
    for lang in LANGUAGES:
        values[f"hours-{lang}"] = ((profile or {}).get("hours") or {}).get(lang, "")
    values["logo_url"] = (profile or {}).get("logo_url")
    return values


def _current_organization() -> dict[str, Any]:
    return _organization_values(g.api.booking.organization())


def _organization_page(errors, values, *, available=True, saved=False, status=200):
    body = render_template(
        "console/setup/organization.html",
        errors=errors,
        values=values,
        available=available,
        saved=saved,
    )
    return body, status


@blueprint.post("/setup/organization")
def save_organization():
    """Save the organization profile at booking (PUT: the whole profile but the logo)."""
    values = {name: request.form.get(name, "").strip() for name in ORGANIZATION_FIELDS}
    for lang in LANGUAGES:
        values[f"hours-{lang}"] = request.form.get(f"hours-{lang}", "").strip()
    fields: dict[str, Any] = {name: values[name] or None for name in ORGANIZATION_FIELDS}
    fields["name"] = values["name"]
    fields["default_language"] = values["default_language"] or "en"
    fields["hours"] = {
        lang: values[f"hours-{lang}"] for lang in LANGUAGES if values[f"hours-{lang}"]
    }
    try:
        g.api.booking.update_organization(fields)
    except ApiProblem as problem:
        errors = _problem_or_raise(problem)
        if "hours" in errors:  # booking names the whole dict: show it by the default language's
            errors[f"hours-{fields['default_language']}"] = errors.pop("hours")
        return _organization_page(errors, values, status=422)
    return redirect(url_for("console_setup.organization", saved=1))


@blueprint.post("/setup/organization/logo")
def upload_logo():
    """Send the chosen image to booking as the organization's logo."""
    upload = request.files.get("logo")
    if upload is None or not upload.filename:
        errors = {"logo": gettext("Choose an image file.")}
        return _organization_page(errors, _current_organization(), status=422)
    try:
        g.api.booking.upload_logo(upload.read(), upload.mimetype or "application/octet-stream")
    except ApiProblem as problem:
        errors = _problem_or_raise(problem)
        errors = {"logo": errors.get("_form") or " ".join(errors.values())}
        return _organization_page(errors, _current_organization(), status=422)
    return redirect(url_for("console_setup.organization", saved=1))


# --- staff ---


@blueprint.get("/setup/staff")
def staff_list():
    """Every staff member, with their role and whether they are active."""
    return render_template(
        "console/setup/staff_list.html",
        staff=g.api.booking.list_staff(),
        changed=request.args.get("changed"),
    )


def _staff_values(member: dict[str, Any]) -> dict[str, str]:
    values = {name: member.get(name) or "" for name in STAFF_TEXT}
    values["languages"] = ", ".join(member.get("languages") or [])
    values["active"] = "1" if member.get("active", True) else ""
    return values


def _staff_page(staff_id: int, errors, values, status=200):
    return render_template(
        "console/setup/staff_edit.html",
        staff_id=staff_id,
        errors=errors,
        values=values,
        roles=ROLES,
    ), status


@blueprint.get("/setup/staff/<int:staff_id>")
def staff_edit(staff_id: int):
    """One staff member's settings."""
    try:
        member = g.api.booking.staff(staff_id)
    except ApiProblem as problem:
        _problem_or_raise(problem)
        raise
    return _staff_page(staff_id, {}, _staff_values(member))


@blueprint.post("/setup/staff/<int:staff_id>")
def staff_save(staff_id: int):
    """Save a staff member's settings at booking."""
    values = {name: request.form.get(name, "").strip() for name in STAFF_TEXT}
    values["languages"] = request.form.get("languages", "").strip()
    values["active"] = "1" if request.form.get("active") else ""
    fields: dict[str, Any] = {name: values[name] for name in ("name", "email", "time_zone", "role")}
    fields["video_link_template"] = values["video_link_template"] or None
    fields["dial_in"] = values["dial_in"] or None
    fields["languages"] = [code.strip() for code in values["languages"].split(",") if code.strip()]
    fields["active"] = bool(values["active"])
    try:
        member = g.api.booking.update_staff(staff_id, fields)
    except ApiProblem as problem:
        return _staff_page(staff_id, _problem_or_raise(problem), values, 422)
    _signed_out_if_inactive(member)
    return redirect(url_for("console_setup.staff_list", changed=member["name"]))


def _signed_out_if_inactive(member: dict[str, Any]) -> None:
    """A deactivated staff member is signed out everywhere (console and services) at once."""
    if not member.get("active", True):
        sessions.end_every_session(session=db.session(), staff_id=member["id"])
        deliver_after_response()


@blueprint.post("/setup/staff/<int:staff_id>/active")
def staff_active(staff_id: int):
    """Deactivate or reactivate a staff member (from the list)."""
    active = request.form.get("active") == "1"
    try:
        member = g.api.booking.update_staff(staff_id, {"active": active})
    except ApiProblem as problem:
        _problem_or_raise(problem)
        raise
    _signed_out_if_inactive(member)
    return redirect(url_for("console_setup.staff_list", changed=member["name"]))


# --- services ---


@blueprint.get("/setup/services")
def services():
    """Every service, unlisted and inactive ones too."""
    return render_template(
        "console/setup/services.html",
        services=g.api.booking.every_service(),
        changed=request.args.get("changed"),
    )


def _resource_lines(resources: list[dict[str, Any]]) -> str:
    """Resource links as the form's lines ('Title | https://…')."""
    return "\n".join(
        " | ".join(part for part in (r.get("title"), r.get("url")) if part) for r in resources
    )


# A service's texts that have a version in every language (resources apart: lines of links).
SERVICE_TEXTS = ("name", "description", "join_instructions", "access_notes")


def _version_field(code: str, name: str) -> str:
    """The form field of a text in another language; booking's field errors ("translations.fr.
    name") land on it as field_errors spells them."""
    return f"translations-{code}-{name}"


def _service_values(service: dict[str, Any]) -> dict[str, Any]:
    """A service (booking's JSON) as the form shows it."""
    values: dict[str, Any] = {
        name: service.get(name, "") for name in (*SERVICE_TEXTS, "slug", "location")
    }
    values.update({name: str(service.get(name, "")) for name in SERVICE_NUMBERS})
    values["modes"] = list(service.get("modes") or [])
    values["reminder_offsets_minutes"] = ", ".join(
        str(m) for m in service.get("reminder_offsets_minutes") or []
    )
    values["resources"] = _resource_lines(service.get("resources") or [])
    for code, version in (service.get("translations") or {}).items():
        for name in SERVICE_TEXTS:
            values[_version_field(code, name)] = version.get(name, "")
        values[_version_field(code, "resources")] = _resource_lines(version.get("resources") or [])
    values["required_consent_template_ids"] = [
        str(i) for i in service.get("required_consent_template_ids") or []
    ]
    values["staff_ids"] = [str(s["id"]) for s in service.get("staff") or []] or service.get(
        "staff_ids", []
    )
    values["listed"] = service.get("listed", True)
    values["active"] = service.get("active", True)
    return values


def _form_values(form: MultiDict) -> dict[str, Any]:
    """The posted service form, as typed (shown again on an error)."""
    values: dict[str, Any] = {
        name: _typed(form, name)
        for name in (
            *SERVICE_TEXTS,
            "slug",
            "location",
            "reminder_offsets_minutes",
            "resources",
            *SERVICE_NUMBERS,
        )
    }
    values.update(
        {
            _version_field(code, name): _typed(form, _version_field(code, name))
            for code in LANGUAGES
            for name in (*SERVICE_TEXTS, "resources")
        }
    )
    values["modes"] = form.getlist("modes")
    values["required_consent_template_ids"] = form.getlist("required_consent_template_ids")
    values["staff_ids"] = form.getlist("staff_ids")
    values["listed"] = bool(form.get("listed"))
    values["active"] = bool(form.get("active"))
    return values


def _typed(form: MultiDict, name: str) -> str:
    """A posted field as typed, trimmed, the browser's CRLF line breaks as LF (a CRLF would
    count twice against booking's length limits)."""
    return form.get(name, "").replace("\r\n", "\n").strip()


def _resource(line: str) -> dict[str, Any]:
    """'Title | https://…' (or just a title) as one of the service's resource links."""
    title, _, url = (part.strip() for part in line.partition("|"))
    return {"title": title, "url": url or None}


def _service_fields(values: dict[str, Any]) -> dict[str, Any]:
    """The form's values as booking's service fields (numbers still as typed)."""
    fields: dict[str, Any] = {name: values[name] for name in (*SERVICE_TEXTS, "slug")}
    fields["location"] = values["location"] or None
    fields.update({name: values[name] for name in SERVICE_NUMBERS})
    fields["modes"] = values["modes"]
    fields["reminder_offsets_minutes"] = [
        part.strip() for part in values["reminder_offsets_minutes"].split(",") if part.strip()
    ]
    fields["resources"] = [
        _resource(line) for line in values["resources"].splitlines() if line.strip()
    ]
    fields["translations"] = {}
    for code in LANGUAGES:
        version = {
            name: values.get(_version_field(code, name), "")
            for name in (*SERVICE_TEXTS, "resources")
        }
        version["resources"] = [
            _resource(line) for line in version["resources"].splitlines() if line.strip()
        ]
        if version := {name: value for name, value in version.items() if value}:
            fields["translations"][code] = version
    fields["required_consent_template_ids"] = values["required_consent_template_ids"]
    fields["staff_ids"] = values["staff_ids"]
    fields["listed"] = values["listed"]
    fields["active"] = values["active"]
    return fields


def _service_errors(problem: ApiProblem) -> dict[str, str]:
    """Booking's answer to the service form as field errors, a language's version's on its
    own fields (booking nests them: {"translations": {"fr": {"value": {"name": [...]}}}})."""
    errors = _problem_or_raise(problem)
    versions = (problem.errors or {}).get("translations")
    if isinstance(versions, dict):
        errors.pop("translations", None)
        for code, problems in versions.items():
            for name, messages in (problems.get("value") or {}).items():
                errors[_version_field(code, name)] = " ".join(_texts(messages))
    return errors


def _texts(messages: Any) -> list[str]:
    """Every message in a nested error (a resource's are by index and field)."""
    if isinstance(messages, dict):
        return [text for value in messages.values() for text in _texts(value)]
    if isinstance(messages, list):
        return [text for value in messages for text in _texts(value)]
    return [str(messages)]


def _service_page(service_id: int | None, errors, values, status=200):
    body = render_template(
        "console/setup/service_edit.html",
        service_id=service_id,
        errors=errors,
        values=values,
        staff_options=[(m["id"], m["name"]) for m in g.api.booking.list_staff()],
        consent_options=[(t["id"], t["name"]) for t in g.api.consent.templates()],
    )
    return body, status


@blueprint.get("/setup/services/new")
def service_new():
    """The form for a new service."""
    return _service_page(None, {}, _service_values(NEW_SERVICE))


@blueprint.post("/setup/services/new")
def service_create():
    """Add the service at booking."""
    values = _form_values(request.form)
    try:
        service = g.api.booking.create_service(_service_fields(values))
    except ApiProblem as problem:
        return _service_page(None, _service_errors(problem), values, 422)
    return redirect(url_for("console_setup.services", changed=service["name"]))


@blueprint.get("/setup/services/<int:service_id>")
def service_edit(service_id: int):
    """One service's settings."""
    found = [s for s in g.api.booking.every_service() if s["id"] == service_id]
    if not found:
        abort(404)
    return _service_page(service_id, {}, _service_values(found[0]))


@blueprint.post("/setup/services/<int:service_id>")
def service_save(service_id: int):
    """Save a service's settings at booking."""
    values = _form_values(request.form)
    try:
        service = g.api.booking.update_service(service_id, _service_fields(values))
    except ApiProblem as problem:
        return _service_page(service_id, _service_errors(problem), values, 422)
    return redirect(url_for("console_setup.services", changed=service["name"]))
