"""The help center (/help): the organization, its FAQ in the page's language with a search box
(a plain GET form: no JavaScript needed), each service's "prepare for your session" list, and
"lost my link?" (/help/lost-link), which answers the same words whatever was typed."""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from services.booking.operations import catalog, faq, lost_links
from services.booking.pages import blueprint
from services.booking.schemas import FAQ_QUERY_MAX
from shared import db
from shared.db import utcnow


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


@blueprint.route("/help/lost-link", methods=["GET", "POST"])
def lost_link():
    """Ask for the manage links of your upcoming appointments by email or SMS."""
    if request.method == "GET":
        return render_template("booking/lost_link.html", contact="", errors={})
    typed = (request.form.get("contact") or "")[: lost_links.CONTACT_MAX + 1]
    if request.form.get("website"):  # the honeypot: answered like everyone, nothing sent
        return redirect(url_for(".lost_link_sent"), 303)
    contact = lost_links.read_contact(typed)
    if contact is None:
        errors = {
            "contact": _("Enter the email address or the phone number you gave when booking.")
        }
        return render_template("booking/lost_link.html", contact=typed, errors=errors), 422
    lost_links.send_lost_links(session=db.session(), contact=contact, now=utcnow())
    return redirect(url_for(".lost_link_sent"), 303)


@blueprint.get("/help/lost-link/sent")
def lost_link_sent():
    """The one answer, whether or not an appointment matched (nobody learns who booked)."""
    return render_template("booking/lost_link_sent.html")
