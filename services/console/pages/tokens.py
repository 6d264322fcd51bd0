"""Setup > API tokens (admins): make a token for an integration (shown once), list every
service's tokens, revoke one at all three services. See operations/api_tokens.py."""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext

from services.console.errors import ApiProblem
from services.console.operations import api_tokens
from services.console.pages.access import field_errors, page_blueprint

blueprint = page_blueprint("console_tokens", admin=True)

ROLES = ("staff", "admin")
DEFAULT_DAYS = "90"


def _page(errors: dict[str, str], values: dict[str, str], token: str | None = None, status=200):
    staff = g.api.booking.list_staff()
    body = render_template(
        "console/setup/tokens.html",
        errors=errors,
        values=values,
        token=token,
        tokens=api_tokens.list_tokens(clients=g.api.every()),
        staff=staff,
        staff_names={member["id"]: member["name"] for member in staff},
        revoked=request.args.get("revoked"),
        max_days=api_tokens.MAX_DAYS,
    )
    # The new token is in this page only: no cache may keep it.
    return body, status, {"Cache-Control": "no-store"}


@blueprint.get("/setup/tokens")
def tokens():
    """The tokens and the form to make one."""
    return _page({}, {"role": "staff", "staff_id": str(g.person.staff_id), "days": DEFAULT_DAYS})


def _checked(values: dict[str, str]) -> dict[str, str]:
    """The form's own rules (the expiry in days is the page's way to ask for `expires_at`)."""
    errors = {}
    if not values["name"]:
        errors["name"] = gettext("Give the token a name, such as the integration using it.")
    if values["role"] not in ROLES:
        errors["role"] = gettext("Choose a role.")
    if not values["staff_id"].isdigit():
        errors["staff_id"] = gettext("Choose a staff member.")
    days = values["days"]
    if not days.isdigit() or not 1 <= int(days) <= api_tokens.MAX_DAYS:
        errors["days"] = gettext(
            "Enter a number of days from 1 to %(max)s.", max=api_tokens.MAX_DAYS
        )
    return errors


@blueprint.post("/setup/tokens")
def create_token():
    """Make a token at the three services and show it once."""
    values = {
        name: request.form.get(name, "").strip() for name in ("name", "role", "staff_id", "days")
    }
    if errors := _checked(values):
        return _page(errors, values, status=422)
    try:
        token = api_tokens.create_token(
            clients=g.api.every(),
            name=values["name"],
            role=values["role"],
            staff_id=int(values["staff_id"]),
            days=int(values["days"]),
        )
    except ApiProblem as problem:
        if problem.status >= 500:
            raise
        return _page(field_errors(problem), values, status=422)
    return _page({}, {"role": "staff", "staff_id": values["staff_id"], "days": DEFAULT_DAYS}, token)


@blueprint.post("/setup/tokens/revoke")
def revoke_token():
    """Revoke a token at every service that has it."""
    clients = g.api.every()
    ids = api_tokens.parse_key(request.form.get("token", ""), set(clients))
    api_tokens.revoke_token(clients=clients, ids=ids)
    return redirect(url_for("console_tokens.tokens", revoked=request.form.get("name") or "1"))
