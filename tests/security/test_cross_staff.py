"""Staff tokens of another staff member, generated from the OpenAPI documents: every operation a
staff token may call is tried by staff member B on staff member A's rows (appointment, rules,
exceptions, busy blocks, calendars, feed, consent requests), and every consent operation taking
an appointment_id in its body is tried with A's appointment. B gets the same 404 as for a row
that does not exist, never a byte of A's data, and changes nothing; A, on the same GETs, is
answered. A new staff route without a row to aim it at fails the test until one is named here."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from abuse_builders import FORM, SIGNATURE

from services.booking import outbox as booking_outbox
from services.booking.models import Appointment, ExternalCalendar
from services.booking.operations import catalog, questions
from services.consent import outbox as consent_outbox
from shared import db as shared_db
from shared.workers import step_on

METHODS = ("get", "post", "put", "patch", "delete")
# Valid bodies, so that what refuses B is the ownership check and not validation.
SOON = (datetime.now(UTC) + timedelta(days=9)).replace(microsecond=0)
BODIES = {
    ("post", "/api/v1/questions/{question_id}/answers"): {"body": "Yes: bring your passport."},
    ("put", "/api/v1/staff/{staff_id}/availability/rules"): {
        "rules": [{"weekday": 0, "start_time": "10:00", "end_time": "12:00"}]
    },
    ("put", "/api/v1/staff/{staff_id}/availability/rules/{weekday}"): {
        "rules": [{"start_time": "10:00", "end_time": "12:00"}]
    },
    ("post", "/api/v1/staff/{staff_id}/availability/exceptions"): {
        "date": str(SOON.date()),
        "kind": "off",
    },
    ("post", "/api/v1/staff/{staff_id}/busy-blocks"): {
        "start": SOON.isoformat(),
        "end": (SOON + timedelta(hours=1)).isoformat(),
    },
    ("patch", "/api/v1/appointments/{appointment_id}"): {"staff_notes": "B was here"},
    ("post", "/api/v1/appointments/{appointment_id}/cancel"): {"reason": "B cancels"},
    ("post", "/api/v1/appointments/{appointment_id}/reschedule"): {
        "start": (SOON + timedelta(hours=1)).isoformat()
    },
    ("post", "/api/v1/appointments/{appointment_id}/complete"): {"outcome": "resolved"},
    ("post", "/api/v1/appointments/{appointment_id}/follow-up"): {"start": SOON.isoformat()},
    ("post", "/api/v1/staff/{staff_id}/calendars"): {
        "name": "B's",
        "url": "https://calendar.example.org/b.ics",
    },
    ("post", "/api/v1/requests/{request_id}/withdraw"): {"reason": "B withdraws"},
    ("post", "/api/v1/requests/{request_id}/download-links"): {},
}
BLOCKS_RANGE = "?start={}&end={}".format(
    *(moment.isoformat().replace("+00:00", "Z") for moment in (SOON, SOON + timedelta(days=9)))
)

# Consent operations whose body names an appointment: valid bodies given A's rows.
APPOINTMENT_BOUND = {
    ("post", "/api/v1/requests"): lambda ids: {
        "template_id": ids["template_id"],
        "client_name": "Client Of-A",
        "client_email": "client.of.a@example.org",
        "appointment_id": ids["appointment_id"],
        "send": False,
    },
    ("post", "/api/v1/verbal"): lambda ids: {
        "template_id": ids["template_id"],
        "client_name": "Client Of-A",
        "client_email": "client.of.a@example.org",
        "appointment_id": ids["appointment_id"],
        "explained": "Recording, read out loud.",
        "explained_by": "Bo Other",
        "explained_at": datetime.now(UTC).isoformat(),
    },
}
# Operations a staff token may call that name no one's rows: what they list is checked below.
UNSCOPED = {
    ("get", "/api/v1/whoami"),
    ("get", "/api/v1/appointments"),
    ("get", "/api/v1/clients"),
    ("get", "/api/v1/questions"),
    ("get", "/api/v1/questions/open-count"),
    ("get", "/api/v1/requests"),
    ("get", "/api/v1/messages"),
    ("get", "/api/v1/templates"),
    ("get", "/api/v1/templates/{template_id}"),
    ("get", "/api/v1/templates/{template_id}/versions"),
    ("get", "/api/v1/templates/{template_id}/versions/{number}"),
    # A staff token revokes only itself or its own staff id's tokens: the test below.
    ("post", "/api/v1/tokens/revoke"),
}


def staff_operations(app):
    spec = app.test_client().get("/openapi.json").get_json()
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item and "staff" in (item[method].get("x-roles") or ()):
                yield method, path


@pytest.fixture
def rows(apps, service, book_api, make_token):
    """Staff member A's rows in booking and consent, and a staff member B; returns the ids."""
    booked = book_api(10, email="client.of.a@example.org", name="Client Of-A")
    with shared_db.get_db(apps["booking"]).transaction() as session:
        a = catalog.get_staff(session=session, staff_id=service["staff_id"])
        b = catalog.create_staff(
            session=session,
            name="Bo Other",
            email="bo@maple.example",
            time_zone="America/Toronto",
            languages=["en"],
        )
        exception = catalog.add_exception(
            session=session, staff=a, date=SOON.date() + timedelta(days=1), kind="off"
        )
        block = catalog.add_busy_block(
            session=session, staff=a, start=SOON + timedelta(days=2), end=SOON + timedelta(days=3)
        )
        calendar = ExternalCalendar(staff_id=a.id, url="https://calendar.example.org/a.ics")
        session.add(calendar)
        session.flush()
        # The client asks a question from the manage page of A's appointment.
        question = questions.ask(
            session=session,
            body="Do I bring my passport?",
            secret=apps["booking"].config["SECRET_KEY"],
            language="en",
            appointment=session.get(Appointment, booked["appointment"]["id"]),
        )
        ids = {
            "staff_id": a.id,
            "appointment_id": booked["appointment"]["id"],
            "exception_id": exception.id,
            "block_id": block.id,
            "calendar_id": calendar.id,
            "question_id": question.id,
            "weekday": 0,
            "b": b.id,
        }
    # A client is asked for consent on A's behalf (as booking asks, with the link that only
    # the client gets), and signs it.
    consent = apps["consent"].test_client()
    admin = {"Authorization": f"Bearer {make_token('consent', 'admin')}"}
    service_token = {"Authorization": f"Bearer {make_token('consent', 'service')}"}
    template = consent.post("/api/v1/templates", json=FORM, headers=admin)
    assert template.status_code == 201, template.get_json()
    created = consent.post(
        "/api/v1/requests",
        json={
            "template_id": template.get_json()["id"],
            "client_name": "Client Of-A",
            "client_email": "client.of.a@example.org",
            "timezone": "America/Toronto",
            "send": False,
            "staff_id": a.id,
        },
        headers=service_token,
    )
    assert created.status_code == 201, created.get_json()
    signing = created.get_json()["signing_url"].rsplit("/", 1)[1]
    signed = consent.post(f"/api/v1/sign/{signing}", json=SIGNATURE)
    assert signed.status_code == 200, signed.get_json()
    ids["request_id"] = created.get_json()["id"]
    ids["template_id"] = template.get_json()["id"]
    return ids


def _snapshot(apps, make_token, ids) -> dict:
    """A's rows as an admin reads them."""
    booking, consent = apps["booking"].test_client(), apps["consent"].test_client()
    admin = {"Authorization": f"Bearer {make_token('booking', 'admin')}"}
    consent_admin = {"Authorization": f"Bearer {make_token('consent', 'admin')}"}
    a = ids["staff_id"]
    reads = {
        "appointment": booking.get(f"/api/v1/appointments/{ids['appointment_id']}", headers=admin),
        "rules": booking.get(f"/api/v1/staff/{a}/availability/rules", headers=admin),
        "exceptions": booking.get(f"/api/v1/staff/{a}/availability/exceptions", headers=admin),
        "blocks": booking.get(
            f"/api/v1/staff/{a}/busy-blocks{BLOCKS_RANGE}",
            headers=admin,
        ),
        "calendars": booking.get(f"/api/v1/staff/{a}/calendars", headers=admin),
        # The question on A's appointment: B neither answers nor closes it.
        "questions": booking.get("/api/v1/questions", headers=admin),
        "request": consent.get(f"/api/v1/requests/{ids['request_id']}", headers=consent_admin),
    }
    for name, response in reads.items():
        assert response.status_code == 200, (name, response.get_json())
    return {name: response.get_json() for name, response in reads.items()}


@pytest.mark.parametrize("service_name", ["booking", "consent"])
def test_a_staff_token_never_reaches_another_staff_members_rows(
    apps, make_token, rows, service_name
):
    app = apps[service_name]
    client = app.test_client()
    stranger = {"Authorization": f"Bearer {make_token(service_name, 'staff', staff_id=rows['b'])}"}
    owner = {
        "Authorization": f"Bearer {make_token(service_name, 'staff', staff_id=rows['staff_id'])}"
    }
    before = _snapshot(apps, make_token, rows)
    secrets = ("client.of.a@example.org", "Client Of-A", "amira@maple.example")
    tried = 0
    for method, path in staff_operations(app):
        if (method, path) in UNSCOPED:
            continue
        if (method, path) in APPOINTMENT_BOUND:
            body = APPOINTMENT_BOUND[method, path](rows)
            response = getattr(client, method)(path, headers=stranger, json=body)
            assert response.status_code == 404, (method, path, response.get_json())
            unknown = getattr(client, method)(
                path, headers=stranger, json=body | {"appointment_id": 999999}
            )
            assert unknown.status_code == 404, (method, path, unknown.get_json())
            assert response.get_json()["code"] == unknown.get_json()["code"], (method, path)
            tried += 1
            continue
        names = re.findall(r"\{([^}]+)\}", path)
        missing = [name for name in names if name not in rows]
        assert names and not missing, f"{method.upper()} {path}: name A's row for {missing or path}"
        url = re.sub(r"\{([^}]+)\}", lambda m: str(rows[m.group(1)]), path)
        body = BODIES.get((method, path), {})
        kwargs = {"json": body} if method in ("post", "put", "patch") else {}
        if method == "get" and "busy-blocks" in path:
            url += BLOCKS_RANGE
        response = getattr(client, method)(url, headers=stranger, **kwargs)
        assert response.status_code == 404, (method, path, response.status_code)
        unknown = getattr(client, method)(
            re.sub(r"/\d+(?=/|$|\?)", "/999999", url, count=1), headers=stranger, **kwargs
        )
        assert response.get_json()["code"] == unknown.get_json()["code"], (method, path)
        body = response.get_data(as_text=True)
        assert not any(secret in body for secret in secrets), (method, path)
        if method == "get":
            assert getattr(client, method)(url, headers=owner).status_code == 200, (method, path)
        tried += 1
    assert tried >= (15 if service_name == "booking" else 6)
    step_on(apps["consent"], consent_outbox.dispatch)  # whatever consent would tell booking
    assert _snapshot(apps, make_token, rows) == before  # B changed nothing of A's

    # The lists a staff token may read hold only the caller's own rows.
    listing = "/api/v1/appointments" if service_name == "booking" else "/api/v1/requests"
    theirs = client.get(listing, headers=stranger)
    assert theirs.status_code == 200 and theirs.get_json() == []
    mine = client.get(listing, headers=owner).get_json()
    assert len(mine) == 1 and json.dumps(mine).count("client.of.a@example.org") >= 1
    if service_name == "booking":
        for status in ("", "?status=open", "?status=answered", "?status=closed"):
            asked = client.get(f"/api/v1/questions{status}", headers=stranger).get_json()
            assert rows["question_id"] not in [q["id"] for q in asked], status
        mine = client.get("/api/v1/questions", headers=owner).get_json()
        assert rows["question_id"] in [q["id"] for q in mine]
        count = "/api/v1/questions/open-count"
        assert client.get(count, headers=stranger).get_json() == {"open": 0}
        assert client.get(count, headers=owner).get_json() == {"open": 1}
        for query in ("", "?q=Client", "?q=client.of.a", f"?staff_id={rows['staff_id']}"):
            for path in ("/api/v1/clients", "/api/v1/appointments"):
                theirs = client.get(f"{path}{query}", headers=stranger)
                assert theirs.status_code == 200 and theirs.get_json() == [], (path, query)
        [found] = client.get("/api/v1/clients?q=Client", headers=owner).get_json()
        assert found["email"] == "client.of.a@example.org"


def _body_fields(spec: dict, operation: dict) -> set[str]:
    """The JSON body's property names of an operation (empty without a body)."""
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = schema.get("schema", {})
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return set(schema.get("properties", {}))


def test_lists_and_unscoped_operations_are_named(apps):
    """Every staff operation is either aimed at A's rows above or named as unscoped, and every
    one whose body takes an appointment_id is tried with A's appointment."""
    for name in ("booking", "consent", "notify"):
        spec = apps[name].test_client().get("/openapi.json").get_json()
        for method, path in staff_operations(apps[name]):
            if "appointment_id" in _body_fields(spec, spec["paths"][path][method]):
                assert (method, path) in APPOINTMENT_BOUND, (name, method, path)
            scoped = bool(re.search(r"\{[^}]+\}", path)) and (method, path) not in UNSCOPED
            bound = (method, path) in APPOINTMENT_BOUND
            assert scoped or bound or (method, path) in UNSCOPED, (name, method, path)
            if scoped and method in ("put", "patch"):
                assert (method, path) in BODIES, (name, method, path)


@pytest.mark.parametrize(
    "operation",
    [("post", "/api/v1/verbal"), ("post", "/api/v1/requests")],
    ids=["verbal consent", "consent request"],
)
def test_staff_cannot_tie_consent_to_another_staff_members_appointment(
    apps, make_token, rows, operation
):
    """B's verbal consent or request for A's appointment is refused like a missing appointment;
    nothing is recorded, and booking's consent status of A's appointment does not move."""
    consent = apps["consent"].test_client()
    stranger = {"Authorization": f"Bearer {make_token('consent', 'staff', staff_id=rows['b'])}"}
    owner = {"Authorization": f"Bearer {make_token('consent', 'staff', staff_id=rows['staff_id'])}"}
    body = APPOINTMENT_BOUND[operation](rows)
    before = _snapshot(apps, make_token, rows)["appointment"]

    refused = consent.post(operation[1], json=body, headers=stranger)
    missing = consent.post(operation[1], json=body | {"appointment_id": 999999}, headers=stranger)
    step_on(apps["consent"], consent_outbox.dispatch)

    assert refused.status_code == missing.status_code == 404
    assert refused.get_json()["code"] == missing.get_json()["code"] == "appointment_not_found"
    assert consent.get("/api/v1/requests", headers=stranger).get_json() == []
    after = _snapshot(apps, make_token, rows)["appointment"]
    assert after["consent_status"] == before["consent_status"]
    assert after["consents"] == before["consents"]
    # A, whose appointment it is, is answered (200: the client's signed consent is reused).
    assert consent.post(operation[1], json=body, headers=owner).status_code in (200, 201)


@pytest.mark.parametrize("service_name", ["booking", "consent", "notify"])
def test_a_staff_token_revokes_only_its_own_tokens(apps, make_token, service_name):
    client = apps[service_name].test_client()
    a_token = make_token(service_name, "staff", staff_id=1)
    b_token = make_token(service_name, "staff", staff_id=2)
    b = {"Authorization": f"Bearer {b_token}"}
    whoami = {"Authorization": f"Bearer {a_token}"}
    for body in ({"staff_id": 1}, {"token_id": 1}, {"token_hash": "0" * 64}):
        refused = client.post("/api/v1/tokens/revoke", json=body, headers=b)
        assert refused.status_code == 404, (body, refused.get_json())
    assert client.get("/api/v1/whoami", headers=whoami).status_code == 200
    mine = client.post("/api/v1/tokens/revoke", json={"staff_id": 2}, headers=b)
    assert mine.status_code == 200 and mine.get_json() == {"revoked": 1}
    assert client.get("/api/v1/whoami", headers=b).status_code == 401


def test_notify_lists_a_staff_token_only_its_own_appointments_messages(apps, make_token, rows):
    """B, naming A's appointment or A's staff id, lists none of the messages booking sent about
    A's appointment; A lists them all."""
    step_on(apps["booking"], booking_outbox.dispatch)
    notify = apps["notify"].test_client()
    stranger = {"Authorization": f"Bearer {make_token('notify', 'staff', staff_id=rows['b'])}"}
    owner = {"Authorization": f"Bearer {make_token('notify', 'staff', staff_id=rows['staff_id'])}"}
    for query in (f"?appointment_id={rows['appointment_id']}", f"?staff_id={rows['staff_id']}", ""):
        theirs = notify.get(f"/api/v1/messages{query}", headers=stranger)
        assert theirs.status_code == 200 and theirs.get_json() == [], query
    mine = notify.get(f"/api/v1/messages?appointment_id={rows['appointment_id']}", headers=owner)
    assert mine.status_code == 200 and mine.get_json()
    assert {m["staff_id"] for m in mine.get_json()} == {rows["staff_id"]}
