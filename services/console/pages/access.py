"""Who is signed in: the session cookie, `g.person` and `g.api`, and the one way pages turn an
API's problem+json into field errors.

A page blueprint made with `page_blueprint(name)` requires a signed-in person: without a live
session a GET is sent to the sign-in page (and back after), any other method gets 401. Then
`g.person` is the Person (staff id, role, name, time zone, language) and `g.api` the three
services' clients with the person's own token, so the services decide what each person sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, redirect, request, url_for

from services.console import outbox
from services.console.clients import ApiProblem, PersonApi
from services.console.errors import NotSignedIn, TokenRefused
from services.console.models import ConsoleSession
from services.console.operations import sessions
from services.console.operations.organization import current_profile
from shared import db
from shared.errors import Forbidden, FrontdeskError
from shared.workers import step_on

CONSOLE_DIR = Path(__file__).resolve().parents[1]
TEMPLATES = CONSOLE_DIR / "templates"
COOKIE = "fd_console"


@dataclass(frozen=True)
class Person:
    """The signed-in staff member or admin, as the pages need them."""

    staff_id: int
    role: str
    name: str
    time_zone: str
    language: str
    session_id: int

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def page_blueprint(name: str, *, public: bool = False, admin: bool = False) -> Blueprint:
    """A console page area's blueprint: templates from the console's folder, and (unless
    `public`) a signed-in person required on every view; with `admin`, an admin (403 else)."""
    blueprint = Blueprint(name, __name__, template_folder=str(TEMPLATES))
    if not public:
        blueprint.before_request(require_admin if admin else require_person)
    return blueprint


def require_admin() -> Response | None:
    """require_person, and then the person must be an admin."""
    if (redirected := require_person()) is not None:
        return redirected
    if not g.person.is_admin:
        raise Forbidden("This page is for administrators.", code="admin_only")
    return None


def session_token() -> str | None:
    """The session token the browser sent (the cookie), if any."""
    return request.cookies.get(COOKIE) or None


def require_person() -> Response | None:
    """Set g.person and g.api from the cookie's live session, or send the browser to sign in."""
    token = session_token()
    found = sessions.resolve(session=db.session(), token=token) if token else None
    if found is None:
        if request.method in ("GET", "HEAD"):
            return redirect(url_for("console_sign_in.sign_in_form"))
        raise NotSignedIn("Your session has ended. Sign in again.")
    g.person = Person(
        staff_id=found.staff_id,
        role=found.role,
        name=found.name,
        time_zone=found.time_zone,
        language=g.get("lang") or "en",
        session_id=found.id,
    )
    g.api = PersonApi(current_app.config, token)
    return None


def set_session_cookie(response: Response, token: str, max_age: int) -> Response:
    """Give the browser its session: HttpOnly, SameSite=Lax, Secure over https, console only."""
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
        path=cookie_path(),
    )
    return response


def clear_session_cookie(response: Response) -> Response:
    """Forget the session in the browser."""
    response.delete_cookie(
        COOKIE, path=cookie_path(), httponly=True, samesite="Lax", secure=request.is_secure
    )
    return response


def cookie_path() -> str:
    """The console's own path (/console when mounted there): the cookie goes nowhere else."""
    return request.script_root or "/"


def field_errors(problem: FrontdeskError) -> dict[str, str]:
    """An API's (or a form schema's) problem as one message per form field, for the form macros
    (`errors[name]`); a problem with no field errors is shown on the form as a whole (`_form`)."""
    errors: dict[str, str] = {}
    for field, messages in (problem.errors or {}).items():
        text = messages if isinstance(messages, str) else " ".join(map(str, _flat(messages)))
        errors[str(field).replace(".", "-") if field != "_schema" else "_form"] = text
    if not errors:
        errors["_form"] = problem.detail
    return errors


def _flat(messages: Any) -> list[Any]:
    if isinstance(messages, dict):
        return [m for value in messages.values() for m in _flat(value)]
    if isinstance(messages, list):
        return [m for value in messages for m in _flat(value)]
    return [messages]


def deliver_after_response() -> None:
    """Run the console's outbox once after this response (so after the commit): a sign-out
    reaches the services and a link the mailbox without waiting for the worker's next round
    (which still retries whatever did not go)."""
    g.console_deliver = True


def init_app(app: Flask) -> None:
    """Deliver the outbox after responses that asked for it; close the person's API clients."""

    @app.after_request
    def _deliver_after_response(response: Response) -> Response:
        if g.pop("console_deliver", False):
            response.call_on_close(partial(step_on, app, outbox.dispatch))
        return response

    @app.errorhandler(TokenRefused)
    def _token_refused(_problem: TokenRefused) -> Response:
        if "person" in g:
            found = db.session().get(ConsoleSession, g.person.session_id)
            if found is not None and found.revoked_at is None:
                sessions.end_session(session=db.session(), console_session=found)
                deliver_after_response()
        return clear_session_cookie(redirect(url_for("console_sign_in.sign_in_form")))

    @app.teardown_request
    def _close_person_api(_exc):
        api = g.pop("api", None)
        if api is not None:
            api.close()

    app.jinja_env.globals["person"] = lambda: g.get("person")


__all__ = [
    "ApiProblem",
    "Person",
    "deliver_after_response",
    "field_errors",
    "page_blueprint",
    "require_admin",
    "require_person",
]


def organization_context(language: str) -> dict:
    """The organization's `org_*` message variables in a language (booking's profile)."""
    booking = current_app.extensions["clients"].booking
    profile = current_profile(booking=booking, config=current_app.config)
    return profile.message_context(language)
