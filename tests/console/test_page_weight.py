"""Every console page's HTML + CSS + JS stays under 100 KB (issue 22).

The test walks every GET page route the console registers (so pages added later are weighed
too), signed in as an admin with a busy week of appointments; a route's URL arguments are filled
from that data. Each page's own stylesheets and scripts (same origin) count with it.
"""

from __future__ import annotations

import re
from datetime import timedelta

from console_builders import csrf_of, link_path, local

from services.booking.models import Appointment
from services.booking.operations import questions
from shared import db as shared_db

PAGE_BUDGET = 100_000  # bytes
ASSET = re.compile(
    r'<(?:link[^>]*rel="stylesheet"[^>]*href|script[^>]*src)="([^"]+)"', re.IGNORECASE
)
# Not pages: the health check, the metrics and the static files (weighed with the pages that use them).
# Not pages: the health and metrics answers, static files, and the signed record (a PDF).
NOT_PAGES = {
    "health",
    "metrics",
    "console_static.static",
    "fd_static.static",
    "static",
    "console_appointments.consent_record",
}


def page_weight(client, path: str) -> tuple[int, int]:
    """(status, bytes of the page's HTML plus every same-origin stylesheet and script)."""
    page = client.get(path, follow_redirects=True)
    weight = len(page.data)
    for asset in set(ASSET.findall(page.text)):
        if asset.startswith(("http://", "https://", "//")):
            continue  # another origin would break the CSP anyway
        served = client.get(asset)
        assert served.status_code == 200, (path, asset)
        weight += len(served.data)
    return page.status_code, weight


def test_every_console_page_weighs_under_100_kb(
    booking_app,
    console_app,
    consent_app,
    make_token,
    make_staff,
    book,
    sign_in,
    deliver,
    emailed_links,
    future_day,
):
    admin = make_staff(email="office@maple.example", role="admin", name="Grace Okafor")
    amira = make_staff(email="amira@maple.example", name="Amira Haddad")
    appointments = [
        book(
            amira,
            local(future_day + timedelta(days=n % 3), 8) + timedelta(minutes=45 * (n // 3)),
            client={"name": f"Client {n}", "email": f"client{n}@example.org", "language": "fr"},
        )
        for n in range(30)
    ]
    client = sign_in("office@maple.example")
    # A live sign-in link for the link page (asked for by another browser).
    other = console_app.test_client()
    form = other.get("/sign-in")
    other.post("/sign-in", data={"email": "office@maple.example", "csrf_token": csrf_of(form.text)})
    deliver()
    arguments = {
        "appointment_id": appointments[0],
        "key": appointments[0],  # a client file is named by one of its appointments
        "service_id": 1,  # each booking above made a service of its own
        "template_id": _consent_form(consent_app, make_token),
        "staff_id": amira,
        "person_id": admin,
        "question_id": _question(booking_app, appointments[0]),
        "token": link_path(emailed_links("office@maple.example")[-1]).rsplit("/", 1)[1],
    }
    paths = [f"/?day={future_day}&staff={amira}", f"/?day={future_day}&staff=all"]
    for rule in console_app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in NOT_PAGES:
            continue
        missing = rule.arguments - arguments.keys()
        assert not missing, f"{rule.rule}: give this test a value for {sorted(missing)}"
        paths.append(rule.build({name: arguments[name] for name in rule.arguments})[1])
    weights = {path: page_weight(client, path) for path in paths}
    assert all(status == 200 for status, _ in weights.values()), weights
    heavy = {path: size for path, (_, size) in weights.items() if size >= PAGE_BUDGET}
    assert not heavy, heavy
    assert weights[paths[0]][1] > 10_000  # the busy day was really weighed


def _question(booking_app, appointment_id: int) -> int:
    """A client's longest question about an appointment (the Questions pages)."""
    with shared_db.get_db(booking_app).transaction() as session:
        return questions.ask(
            session=session,
            body="Can I bring my documents on paper? " * 57,
            secret=booking_app.config["SECRET_KEY"],
            language="fr",
            appointment=session.get(Appointment, appointment_id),
        ).id


def _consent_form(consent_app, make_token) -> int:
    """A consent form for the editor's page (made through consent's API)."""
    admin = {"Authorization": f"Bearer {make_token('consent', 'admin')}"}
    body = {"name": "Recording", "locales": {"en": {"title": "Consent", "body": "Text"}}}
    made = consent_app.test_client().post("/api/v1/templates", json=body, headers=admin)
    assert made.status_code == 201, made.get_json()
    return made.get_json()["id"]
