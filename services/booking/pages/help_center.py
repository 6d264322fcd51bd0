"""The help center (/help): the organization, its FAQ in the page's language with a search box
(a plain GET form: no JavaScript needed), and each service's "prepare for your session" list."""

from __future__ import annotations

from flask import g, render_template, request

from services.booking.operations import catalog, faq
from services.booking.pages import blueprint
from services.booking.schemas import FAQ_QUERY_MAX
from shared import db


@blueprint.get("/help")
def help_center():
    """The FAQ (or what matches ?q=) and the services' resources."""
    q = request.args.get("q", "").strip()[:FAQ_QUERY_MAX]
    # Read-only, outside a transaction (on PostgreSQL no BEGIN/COMMIT round trips).
    with db.read_session() as session:
        if q:
            entries = faq.search_entries(session=session, language=g.lang, q=q)
        else:
            entries = faq.list_entries(session=session, language=g.lang)
        services = [
            s
            for s in catalog.list_services(session=session, public=True)
            if s.text_in(g.lang).resources
        ]
        return render_template("booking/help.html", q=q, entries=entries, services=services)
