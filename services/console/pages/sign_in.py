"""Signing in by emailed link, and out: the console's only pages without a session.

The form answers the same for every address (known, unknown, inactive), so it tells nobody who
works here. A known, active staff member gets a single-use link valid 15 minutes, through
notify. Opening the link shows one button: mail scanners that fetch links do not spend it.
Pressing it opens a session (an API token at the three services) and sets the cookie.
"""

from __future__ import annotations

import hashlib

from flask import Flask, current_app, g, redirect, render_template, request, url_for
from flask_limiter import Limiter

from services.console.errors import LinkExpired
from services.console.operations import links, sessions
from services.console.pages.access import (
    clear_session_cookie,
    deliver_after_response,
    field_errors,
    organization_context,
    page_blueprint,
    require_person,
    session_token,
    set_session_cookie,
)
from services.console.schemas import SignInSchema
from shared import db
from shared.errors import ValidationFailed
from shared.fields import load_or_fail

blueprint = page_blueprint("console_sign_in", public=True)

# Per address asked for, whoever asks: a flood of links to one mailbox stops here.
PER_EMAIL = "5/15 minutes;20/day"


def register(app: Flask, limiter: Limiter) -> None:
    """Register the pages, with the sign-in form's POST limited per email address."""
    limiter.limit(PER_EMAIL, key_func=email_key, methods=["POST"], per_method=True)(sign_in)
    app.register_blueprint(blueprint)


def email_key() -> str:
    """The rate-limit key of the address in the form (hashed, lower case)."""
    email = request.form.get("email", "").strip().lower()
    return "email:" + hashlib.sha256(b"frontdesk-console-sign-in:" + email.encode()).hexdigest()


@blueprint.get("/sign-in")
def sign_in_form():
    """The email form."""
    return render_template("console/sign_in.html", errors={}, values={})


@blueprint.post("/sign-in")
def sign_in():
    """Email a sign-in link to the address if it is a staff member's; the same answer for all."""
    values = {"email": request.form.get("email", "")}
    try:
        data = load_or_fail(SignInSchema(), values)
    except ValidationFailed as problem:
        body = render_template("console/sign_in.html", errors=field_errors(problem), values=values)
        return body, 422
    staff = current_app.extensions["clients"].booking.staff_by_email(data["email"])
    if staff is not None and staff["active"]:
        links.send_link(
            session=db.session(),
            staff=staff,
            purpose="sign_in",
            language=g.lang,
            public_url=current_app.config["PUBLIC_URL"],
            org=organization_context(g.lang),
        )
        deliver_after_response()
    return render_template("console/link_sent.html")


@blueprint.get("/sign-in/<token>")
def link(token: str):
    """The one-button page of an emailed link (opening it spends nothing)."""
    links.live_link(session=db.session(), token=token)
    return render_template("console/confirm_sign_in.html", token=token)


@blueprint.post("/sign-in/<token>")
def use_link(token: str):
    """Spend the link and open a session; then the agenda."""
    session = db.session()
    spent = links.use_link(session=session, token=token)
    clients = current_app.extensions["clients"]
    staff = clients.booking.staff(spent.staff_id)
    if not staff["active"]:
        raise LinkExpired("This account is not active. Ask an administrator.")
    cookie = sessions.start_session(session=session, clients=clients, staff=staff)
    response = redirect(url_for("console_agenda.agenda"))
    return set_session_cookie(response, cookie, int(sessions.ABSOLUTE.total_seconds()))


@blueprint.post("/sign-out")
def sign_out():
    """End this session here and at the three services."""
    token = session_token()
    found = sessions.resolve(session=db.session(), token=token) if token else None
    if found is not None:
        sessions.end_session(session=db.session(), console_session=found)
        deliver_after_response()
    response = redirect(url_for("console_sign_in.sign_in_form", signed_out=1))
    return clear_session_cookie(response)


@blueprint.post("/sign-out-everywhere")
def sign_out_everywhere():
    """End every session and token of the signed-in person, here and at the three services."""
    if (redirected := require_person()) is not None:
        return redirected
    sessions.end_every_session(session=db.session(), staff_id=g.person.staff_id)
    deliver_after_response()
    response = redirect(url_for("console_sign_in.sign_in_form", signed_out=1))
    return clear_session_cookie(response)
