"""The console's pages, one module per area; each area is one blueprint made by `page_blueprint`.

Areas: sign_in (public: the sign-in form and links, sign out), agenda (the landing page),
invitations (admins invite staff), appointments (one appointment and its actions), clients
(search and the client file), questions (clients' "ask us" questions), setup, tokens, message_log and consent_forms (admins' setup);
appointments, clients, availability and admin join here the same way. Every blueprint made with
`page_blueprint` requires a signed-in person (access.py) unless made `public=True`.
"""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_limiter import Limiter

from services.console.pages import (
    access,
    agenda,
    appointments,
    availability,
    clients,
    consent_forms,
    invitations,
    labels,
    message_log,
    questions,
    setup,
    sign_in,
    tokens,
)
from services.console.pages.access import page_blueprint

__all__ = ["page_blueprint", "register"]

# Each area's module exposes `blueprint` (and may expose `register(app, limiter)` for limits).
AREAS = (
    sign_in,
    agenda,
    invitations,
    appointments,
    clients,
    availability,
    setup,
    tokens,
    message_log,
    consent_forms,
    questions,
)


def register(app: Flask, limiter: Limiter) -> None:
    """Register every page area, the console's static files and the signed-in person hooks."""
    access.init_app(app)
    labels.init_app(app)
    app.register_blueprint(
        Blueprint(
            "console_static",
            __name__,
            static_folder=str(access.CONSOLE_DIR / "static"),
            static_url_path="/static/console",
        )
    )
    for area in AREAS:
        if hasattr(area, "register"):
            area.register(app, limiter)
        else:
            app.register_blueprint(area.blueprint)
