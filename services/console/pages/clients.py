"""The client file: find a client by name, email or phone, then their appointments, consents and
messages on one page; admins export (JSON download) and erase (after a confirmation step).

A client is who books with one email address (or, without one, one phone number). Their file's URL names one of their appointments
(`/clients/<appointment id>`), never the address, so no address lands in a log or a browser's
history, and access is booking's: another staff member's appointment is the same 404 as a
missing one. Export and erasure are the console's privacy operations (the CLI runs them too), called with the
admin's own token.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import Response, g, redirect, render_template, request, url_for

from services.console.operations import privacy
from services.console.pages.access import page_blueprint
from services.console.pages.appointments import MESSAGE_KINDS, OUTCOMES, REQUEST_STATUSES
from shared.errors import Forbidden

blueprint = page_blueprint("console_clients")


def _with_times(item: dict[str, Any], *names: str) -> dict[str, Any]:
    extra = {f"{name}_at": datetime.fromisoformat(item[name]) for name in names if item.get(name)}
    return {**item, **extra}


def _start_of(ref: dict[str, Any] | None) -> datetime | None:
    return datetime.fromisoformat(ref["start"]) if ref else None


def _file_key(entry: dict[str, Any]) -> int | None:
    """The appointment that names a search result's client file."""
    for ref in (entry.get("next_appointment"), entry.get("last_appointment")):
        if ref:
            return ref["id"]
    found = g.api.booking.appointments_of_client(email=entry["email"], phone=entry.get("phone"))
    return found[-1]["id"] if found else None


@blueprint.get("/clients")
def search():
    """Clients by part of their name or email, or their phone number."""
    q = request.args.get("q", "").strip()[:200]
    found = g.api.booking.search_clients(q) if q else []
    results = [
        {**entry, "key": key, "next_at": _start_of(entry.get("next_appointment"))}
        for entry in found
        if (key := _file_key(entry)) is not None
    ]
    return render_template("console/clients.html", q=q, results=results, searched=bool(q))


def _client_of(key: int) -> tuple[str | None, list[dict[str, Any]]]:
    """The client's address (None for a phone-only client) and appointments, from one of their
    appointments (404 if not yours)."""
    named = g.api.booking.appointment(key)
    email = named["client_email"]
    found = g.api.booking.appointments_of_client(email=email, phone=named["client_phone"])
    return email, [_with_times(a, "start", "end") for a in found]


@blueprint.get("/clients/<int:key>")
def client_file(key: int):
    """A client's appointments, consents and messages."""
    email, appointments = _client_of(key)
    # Consent requests are filed under the client's email; a phone-only client's, under each
    # of their appointments.
    requests = (
        g.api.consent.requests_of(client_email=email)
        if email
        else [r for a in appointments for r in g.api.consent.requests_of(appointment_id=a["id"])]
    )
    consents = [_with_times(r, "created_at", "signed_at") for r in requests]
    messages = [
        _with_times(m, "created_at", "last_attempt_at")
        for m in g.api.notify.messages_of_appointments([a["id"] for a in appointments])
    ]
    latest = appointments[-1] if appointments else {"client_name": email}
    return render_template(
        "console/client.html",
        key=key,
        email=email,
        latest=latest,
        appointments=appointments,
        consents=consents,
        messages=messages,
        confirm_erase=request.args.get("erase") == "confirm",
        outcome_labels=OUTCOMES,
        request_statuses=REQUEST_STATUSES,
        message_kinds=MESSAGE_KINDS,
    )


def _admin_clients() -> dict[str, Any]:
    """The three services with the admin's token, as the privacy operations call them."""
    if not g.person.is_admin:
        raise Forbidden("Only administrators export or erase a client's data.", code="admin_only")
    return {"booking": g.api.booking, "consent": g.api.consent, "notify": g.api.notify}


def _whom(key: int) -> dict[str, str]:
    """Whom the privacy operations look for: the client's address, or a phone-only client's
    number (their appointments are all booked with it)."""
    email, appointments = _client_of(key)
    if email:
        return {"email": email}
    return {"phone": appointments[-1]["client_phone"]}


@blueprint.post("/clients/<int:key>/export")
def export(key: int):
    """Everything the suite holds about the client, as a JSON download (admins)."""
    clients = _admin_clients()
    document = privacy.export_client(clients=clients, **_whom(key))
    response = Response(
        json.dumps(document, ensure_ascii=False, indent=2), mimetype="application/json"
    )
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    response.headers["Content-Disposition"] = f'attachment; filename="client-{key}-{stamp}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/clients/<int:key>/erase")
def erase(key: int):
    """Erase the client everywhere (admins; the page asked them to confirm first)."""
    clients = _admin_clients()
    if request.form.get("confirm") != "yes":
        return redirect(url_for(".client_file", key=key, erase="confirm") + "#erase")
    privacy.erase_client(clients=clients, **_whom(key))
    return render_template("console/erased.html")
