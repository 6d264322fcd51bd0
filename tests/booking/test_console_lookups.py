"""What the staff console asks booking: client search, the appointment list as an agenda (with
its filters, in a number of queries that does not grow with the week), and one weekday's hours
edited without touching the others. Through the API with real tokens."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from services.booking.operations import appointments
from shared import db as shared_db
from shared import testing


def _client(name: str, email: str, phone: str | None = None) -> dict:
    return {
        "name": name,
        "email": email,
        "phone": phone,
        "language": "en",
        "time_zone": "America/Toronto",
    }


@pytest.fixture
def api(booking_app, make_token):
    """api(role, staff_id=None) -> get(path, **params) with a token of that role."""

    def as_role(role: str, staff_id: int | None = None):
        headers = {"Authorization": f"Bearer {make_token('booking', role, staff_id=staff_id)}"}

        def get(path: str, **params):
            return booking_app.test_client().get(path, query_string=params or None, headers=headers)

        def put(path: str, body):
            return booking_app.test_client().put(path, json=body, headers=headers)

        get.put = put
        return get

    return as_role


@pytest.fixture
def two_staff(make_staff, make_service):
    """Two staff members with a service each."""
    amira = make_staff()
    bo = make_staff(name="Bo Other", email="bo@maple.example")
    return {
        "amira": amira,
        "bo": bo,
        "amira_service": make_service(staff=[amira]),
        "bo_service": make_service(staff=[bo]),
    }


@pytest.fixture
def clients_booked(book, two_staff, next_weekday, at):
    """Élodie twice with Amira, Zoë 50%_off once with Amira and once with Bo, Tom with Bo."""
    monday, tuesday = next_weekday(0), next_weekday(1)
    backup = {"callback_number": "+14165550123", "use_dial_in": False}
    with_amira, with_bo = two_staff["amira_service"], two_staff["bo_service"]
    elodie = _client("Élodie Brûlé", "Elodie.Brule@Example.org", "+14165550101")
    zoe = _client("Zoë 50%_off", "zoe@example.org", "+15145550199")
    tom = _client("Tom Fenwick", "tom@example.org")
    made = {
        "elodie": [
            book(with_amira, at(monday, 9), client=elodie, backup=backup).appointment.id,
            book(with_amira, at(tuesday, 9), client=elodie, backup=backup).appointment.id,
        ],
        "zoe": [
            book(with_amira, at(monday, 11), client=zoe, backup=backup).appointment.id,
            book(with_bo, at(monday, 11), client=zoe, backup=backup).appointment.id,
        ],
        "tom": [book(with_bo, at(tuesday, 14), client=tom, backup=backup).appointment.id],
    }
    return made


def test_admin_finds_a_client_by_part_of_name_email_or_phone_in_any_case(
    api, clients_booked, two_staff
):
    admin = api("admin")
    for q in ("élodie", "ÉLODIE", "brûlé", "elodie.brule@example", "EXAMPLE.ORG/", "555 0101"):
        response = admin("/api/v1/clients", q=q)
        assert response.status_code == 200, (q, response.get_json())
    [elodie] = admin("/api/v1/clients", q="élodie").get_json()
    assert elodie["email"] == "Elodie.Brule@Example.org"
    assert elodie["name"] == "Élodie Brûlé"
    assert elodie["phone"] == "+14165550101"
    assert elodie["appointment_count"] == 2
    assert elodie["next_appointment"]["id"] == clients_booked["elodie"][0]
    assert elodie["next_appointment"]["status"] == "confirmed"
    assert elodie["last_appointment"] is None
    assert admin("/api/v1/clients", q="ÉLODIE").get_json() == [elodie]
    # Phone digits typed in any format find the number stored as E.164.
    assert admin("/api/v1/clients", q="(416) 555-0101").get_json() == [elodie]
    assert [c["email"] for c in admin("/api/v1/clients", q="+15145550199").get_json()] == [
        "zoe@example.org"
    ]
    everyone = admin("/api/v1/clients").get_json()
    assert sorted(c["email"] for c in everyone) == [
        "Elodie.Brule@Example.org",
        "tom@example.org",
        "zoe@example.org",
    ]
    zoe = next(c for c in everyone if c["email"] == "zoe@example.org")
    assert zoe["appointment_count"] == 2  # one client over two staff members, for an admin


def test_staff_find_only_clients_of_their_own_appointments(api, clients_booked, two_staff):
    bo = api("staff", staff_id=two_staff["bo"].id)
    assert bo("/api/v1/clients", q="élodie").get_json() == []
    [zoe] = bo("/api/v1/clients", q="zoë").get_json()
    assert zoe["appointment_count"] == 1  # Amira's appointment with Zoë is not Bo's to see
    assert zoe["next_appointment"]["id"] == clients_booked["zoe"][1]
    assert sorted(c["email"] for c in bo("/api/v1/clients").get_json()) == [
        "tom@example.org",
        "zoe@example.org",
    ]


@pytest.mark.parametrize(
    "q",
    [
        "%",
        "_",
        "\\",
        "%%",
        "50%_",
        "' OR 1=1 --",
        "例え",
        "مرحبا",
        "x" * 200,
        "😀",
    ],
)
def test_hostile_search_text_is_matched_literally_never_a_500(api, clients_booked, q):
    response = api("admin")("/api/v1/clients", q=q)
    assert response.status_code == 200, response.get_json()
    found = [c["name"] for c in response.get_json()]
    # Only Zoë's name holds a literal % or _ (LIKE wildcards are plain characters here).
    expected = ["Zoë 50%_off"] if q in ("%", "_", "50%_") else []
    assert found == expected


@pytest.mark.parametrize("q", ["x" * 201, "line\nbreak", "nul\x00", "\u202eevil", "", "tab\there"])
def test_search_text_that_cannot_be_a_name_is_refused_with_422(api, clients_booked, q):
    response = api("admin")("/api/v1/clients", q=q)
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] in ("validation_failed", "nul_character")


def test_appointment_list_filters_by_client_staff_status_and_time(
    api, clients_booked, two_staff, next_weekday, at
):
    admin = api("admin")

    def ids(**params) -> list[int]:
        response = admin("/api/v1/appointments", **params)
        assert response.status_code == 200, response.get_json()
        return [a["id"] for a in response.get_json()]

    assert ids(client_email="elodie.brule@EXAMPLE.org") == clients_booked["elodie"]
    assert ids(client_email="%") == []
    assert ids(client_phone="+1 (416) 555-0101") == clients_booked["elodie"]
    assert ids(staff_id=two_staff["bo"].id) == [*clients_booked["zoe"][1:], *clients_booked["tom"]]
    monday = next_weekday(0)
    window = {
        "from": at(monday, 0).isoformat().replace("+00:00", "Z"),
        "to": at(monday + timedelta(days=1), 0).isoformat().replace("+00:00", "Z"),
    }
    assert sorted(ids(**window)) == sorted([clients_booked["elodie"][0], *clients_booked["zoe"]])
    assert ids(status="cancelled", **window) == []
    bad = admin("/api/v1/appointments", client_phone="not a number")
    assert bad.status_code == 422 and "client_phone" in bad.get_json()["errors"]
    both = admin("/api/v1/appointments", start=window["from"], **window)
    assert both.status_code == 422


def test_an_agenda_week_comes_in_one_call_whose_query_count_does_not_grow(
    booking_app, api, book, make_staff, make_service, next_weekday, at, session
):
    """Each appointment carries the client, callback number, backup plan, mode and join link,
    accommodations, service name and consent status; 3 or 30 appointments take the same
    number of statements."""
    staff = make_staff(
        rules=[{"weekday": d, "start_time": time(8), "end_time": time(20)} for d in range(7)]
    )
    services = [make_service(staff=[staff]), make_service(staff=[staff], name="Follow-up")]
    monday = next_weekday(0)
    starts = [at(monday + timedelta(days=day), 8 + hour) for day in range(6) for hour in range(11)]
    booked = []
    for number, start in enumerate(starts[:30]):
        made = book(
            services[number % 2],
            start,
            client=_client(f"Client {number}", f"client{number}@example.org"),
            backup={"callback_number": "+14165550123", "use_dial_in": number % 3 == 0},
            accommodations={"captions": False, "interpreter_language": "Tigrinya"},
        ).appointment
        booked.append(made.id)
        if number % 2:
            appointments.set_consent(
                session=session,
                appointment=made,
                request_id=number,
                template_id=1,
                form_title="Consent",
                status="pending",
            )
    session.commit()
    mine = api("staff", staff_id=staff.id)
    window = {
        "from": at(monday, 0).isoformat().replace("+00:00", "Z"),
        "to": at(monday + timedelta(days=7), 0).isoformat().replace("+00:00", "Z"),
    }

    def statements_for(limit: int) -> tuple[list[dict], int]:
        with testing.statements_run(shared_db.get_db(booking_app).engine) as statements:
            response = mine("/api/v1/appointments", limit=limit, **window)
        assert response.status_code == 200, response.get_json()
        return response.get_json(), len([s for s in statements if "SELECT" in s.upper()])

    few, few_queries = statements_for(3)
    week, week_queries = statements_for(200)
    assert len(few) == 3 and len(week) == 30
    assert week_queries == few_queries
    first = week[0]
    assert first["client_name"] == "Client 0"
    assert first["backup"] == {
        "callback_number": "+14165550123",
        "dial_in": "+14165550100",
        "use_dial_in": True,
    }
    assert first["mode"] == "video" and first["video_url"] == "https://meet.example.org/amira"
    assert first["accommodations"]["interpreter_language"] == "Tigrinya"
    assert first["service_name"] == services[0].name
    assert {a["consent_status"] for a in week} == {"none", "pending"}


def test_one_weekday_is_replaced_and_the_other_days_are_kept(api, make_staff):
    staff = make_staff()  # Monday to Friday, 09:00-17:00
    rules = f"/api/v1/staff/{staff.id}/availability/rules"
    own = api("staff", staff_id=staff.id)
    changed = own.put(
        f"{rules}/2",
        {
            "rules": [
                {"start_time": "08:00", "end_time": "12:00"},
                {"start_time": "13:00", "end_time": "15:30"},
            ]
        },
    )
    assert changed.status_code == 200, changed.get_json()
    week = {(r["weekday"], r["start_time"], r["end_time"]) for r in changed.get_json()}
    assert week == {
        (0, "09:00", "17:00"),
        (1, "09:00", "17:00"),
        (2, "08:00", "12:00"),
        (2, "13:00", "15:30"),
        (3, "09:00", "17:00"),
        (4, "09:00", "17:00"),
    }
    assert own(rules).get_json() == changed.get_json()
    cleared = own.put(f"{rules}/4", {"rules": []})
    assert {r["weekday"] for r in cleared.get_json()} == {0, 1, 2, 3}
    sunday = own.put(f"{rules}/6", {"rules": [{"start_time": "10:00", "end_time": "11:00"}]})
    assert (6, "10:00", "11:00") in {
        (r["weekday"], r["start_time"], r["end_time"]) for r in sunday.get_json()
    }


@pytest.mark.parametrize(
    ("weekday", "body", "status"),
    [
        (7, {"rules": []}, 422),
        (2, {"rules": [{"start_time": "12:00", "end_time": "09:00"}]}, 422),
        (2, {"rules": [{"weekday": 3, "start_time": "09:00", "end_time": "10:00"}]}, 422),
        (2, {}, 422),
    ],
)
def test_a_wrong_day_or_interval_is_refused_and_changes_nothing(
    api, make_staff, weekday, body, status
):
    staff = make_staff()
    rules = f"/api/v1/staff/{staff.id}/availability/rules"
    admin = api("admin")
    before = admin(rules).get_json()
    response = admin.put(f"{rules}/{weekday}", body)
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert admin(rules).get_json() == before


def test_the_weekday_numbering_is_documented(booking_app):
    spec = booking_app.test_client().get("/openapi.json").get_json()
    day = spec["paths"]["/api/v1/staff/{staff_id}/availability/rules/{weekday}"]
    parameters = day.get("parameters", []) + day["put"].get("parameters", [])
    [weekday] = [p for p in parameters if p["name"] == "weekday"]
    assert "0 = Monday" in weekday["description"]
    assert weekday["schema"]["maximum"] == 6
    rule = spec["components"]["schemas"]["Rule"]["properties"]["weekday"]
    assert "0 = Monday" in rule["description"]
    whole_week = spec["paths"]["/api/v1/staff/{staff_id}/availability/rules"]["put"]
    assert "whole week" in whole_week["summary"] + whole_week.get("description", "")


def test_a_phone_only_client_is_found_by_name_and_number(api, book, two_staff, next_weekday, at):
    backup = {"callback_number": "+14165550177", "use_dial_in": False}
    phone_only = {**_client("Farida Noor", None, "+14165550177"), "notify_by": "sms"}
    book(two_staff["amira_service"], at(next_weekday(2), 10), client=phone_only, backup=backup)
    admin = api("admin")
    for q in ("farida", "416 555 0177"):
        found = admin("/api/v1/clients", q=q)
        assert found.status_code == 200, found.get_json()
        [entry] = found.get_json()
        assert entry["email"] is None and entry["phone"] == "+14165550177", q
        assert entry["appointment_count"] == 1
