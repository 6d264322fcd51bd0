"""Setup > Staff > Invite (admins): add a staff member at booking and email them a sign-in link
valid 7 days. Booking's field errors (problem+json) show on the form, with the input kept."""

from __future__ import annotations

from flask import current_app, g, redirect, render_template, request, url_for

from services.console.errors import ApiProblem
from services.console.operations import invitations
from services.console.pages.access import (
    deliver_after_response,
    field_errors,
    organization_context,
    page_blueprint,
)
from shared import db
from shared.pages import LANGUAGES

blueprint = page_blueprint("console_invitations", admin=True)

FIELDS = ("name", "email", "time_zone", "role", "language")


def _form(errors: dict[str, str], values: dict[str, str], status: int = 200):
    body = render_template(
        "console/invite.html",
        errors=errors,
        values=values,
        roles=("staff", "admin"),
        invited=request.args.get("invited"),
    )
    return body, status


@blueprint.get("/setup/staff/invite")
def invite_form():
    """The invitation form."""
    return _form({}, {"time_zone": g.person.time_zone, "role": "staff", "language": g.lang})


@blueprint.post("/setup/staff/invite")
def invite():
    """Add the staff member and queue their invitation."""
    values = {name: request.form.get(name, "").strip() for name in FIELDS}
    language = values["language"] if values["language"] in LANGUAGES else "en"
    fields = {
        "name": values["name"],
        "email": values["email"],
        "time_zone": values["time_zone"],
        "role": values["role"],
        "languages": [language],
    }
    try:
        staff = invitations.invite_staff(
            session=db.session(),
            booking=g.api.booking,
            fields=fields,
            language=language,
            public_url=current_app.config["PUBLIC_URL"],
            org=organization_context(language),
        )
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        return _form(field_errors(problem), values, 422)
    deliver_after_response()
    return redirect(url_for("console_invitations.invite_form", invited=staff["name"]))
