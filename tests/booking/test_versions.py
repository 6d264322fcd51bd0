"""services.booking.versions: every write moves the versions the caches are keyed by, through
booking's own sessions only; and what reads them (slot search, bookings) is correct across
hosts without any notification."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.booking import versions
from services.booking.app import create_app
from services.booking.models import Appointment, FeedVersion
from services.booking.operations import appointments
from shared import db as shared_db
from shared import testing


def _versions(session) -> dict[int, tuple[int, int]]:
    rows = session.execute(
        sa.select(FeedVersion.staff_id, FeedVersion.version, FeedVersion.availability_version)
    )
    return {staff_id: (version, available) for staff_id, version, available in rows}


def test_version_hooks_are_on_bookings_sessionmaker_not_on_every_session(apps):
    booking = shared_db.get_db(apps["booking"]).sessionmaker
    for name, hook in versions._HOOKS:
        assert sa.event.contains(booking, name, hook)
        assert not sa.event.contains(Session, name, hook)  # consent's and notify's too
        for other in ("consent", "notify"):
            assert not sa.event.contains(shared_db.get_db(apps[other]).sessionmaker, name, hook)


def test_a_bulk_update_of_appointments_moves_the_feed_and_slot_versions(
    session, make_service, book, next_weekday, at
):
    service = make_service()
    staff_id = service.staff[0].id
    booked = book(service, at(next_weekday(2), 10))
    before = _versions(session)[staff_id]
    session.execute(
        sa.update(Appointment)
        .where(Appointment.id == booked.appointment.id)
        .values(client_notes="changed in bulk")
    )
    session.commit()
    after = _versions(session)[staff_id]
    assert after[0] > before[0] and after[1] > before[1]


def test_a_booking_uses_the_service_as_another_host_just_changed_it(
    booking_app, make_service, next_weekday, at, booking_body
):
    """Writes never read from a cache: a booking reads its service in its own transaction, so
    one through this host right after another host changed the service's duration books the
    new duration (on PostgreSQL the service was kept per process until a notification came)."""
    service = make_service(duration_minutes=45, buffer_after_minutes=0)
    here, other_host = booking_app.test_client(), create_app(booking_app.config).test_client()
    start, day = at(next_weekday(2), 10), next_weekday(2)
    admin = {"Authorization": f"Bearer {_admin_token(booking_app)}"}
    changed = other_host.patch(
        f"/api/v1/services/{service.id}", json={"duration_minutes": 60}, headers=admin
    )
    assert changed.status_code == 200
    # A search through this host first: nothing it reads may be what the booking relies on.
    assert here.get(f"/api/v1/services/{service.id}/slots?start={day}&end={day}").status_code == 200
    engine = shared_db.get_db(booking_app).engine
    with testing.statements_run(engine) as statements:
        booked = here.post("/api/v1/appointments", json=booking_body(service.id, start))
    assert booked.status_code == 201, booked.get_json()
    # Read in the booking's own transaction, never kept from an earlier request.
    assert any("FROM services" in statement for statement in statements)
    assert not any("FROM appointment_consents" in statement for statement in statements)
    with shared_db.get_db(booking_app).transaction() as session:
        appointment = session.scalar(sa.select(Appointment))
        assert (appointment.end - appointment.start).total_seconds() == 60 * 60


def _admin_token(app) -> str:
    from services.booking.models import ApiToken

    return testing.make_token(shared_db.get_db(app), ApiToken, "admin")


def test_a_repeated_slot_search_reads_one_statement_and_sees_another_hosts_change_at_once(
    booking_app, make_service, next_weekday, at, book
):
    service = make_service()
    day = next_weekday(2)
    path = f"/api/v1/services/{service.id}/slots?start={day}&end={day}"
    here, other_host = booking_app.test_client(), create_app(booking_app.config)
    first = here.get(path).get_json()
    engine = shared_db.get_db(booking_app).engine
    with testing.statements_run(engine) as statements:
        again = here.get(path).get_json()
    assert again == first
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
    taken = at(day, 10)
    with shared_db.get_db(other_host).transaction() as other:
        service_there = other.get(type(service), service.id)
        appointments.book(
            session=other,
            service=service_there,
            start=taken,
            mode="video",
            client={"name": "Bo Chen", "email": "bo@example.org"},
            backup={"callback_number": "+14165550123", "use_dial_in": True},
            secret=booking_app.config["SECRET_KEY"],
        )
    after = here.get(path).get_json()
    shown = taken.isoformat().replace("+00:00", "Z")
    assert shown in {slot["start"] for slot in first["slots"]}
    assert shown not in {slot["start"] for slot in after["slots"]}


def test_a_booking_moves_its_staff_members_feed_and_slot_versions(
    booking_app, session, make_service, next_weekday, at, booking_body
):
    """The booking's appointment is one INSERT that no flush sees (versions.insert_appointment):
    it moves the versions itself, in the booking's transaction."""
    service = make_service()
    service_id, staff_id = service.id, service.staff[0].id
    before = _versions(session).get(staff_id, (0, 0))
    session.rollback()  # SQLite: the booking's write must not wait for this session
    client = booking_app.test_client()
    booked = client.post(
        "/api/v1/appointments", json=booking_body(service_id, at(next_weekday(2), 10))
    )
    assert booked.status_code == 201, booked.get_json()
    after = _versions(session)[staff_id]
    assert after[0] > before[0] and after[1] > before[1]


def test_no_module_but_versions_inserts_an_appointment_past_the_flush_hooks():
    """Every other write of an appointment goes through a flush or a bulk UPDATE/DELETE, which
    the hooks see; a Core INSERT of appointments anywhere else could skip the versions."""
    root = Path(versions.__file__).parents[2]
    inserting = re.compile(r"insert\(\s*(Appointment\b(?!Event|Consent)|Appointment\.__table__)")
    found = {
        str(path.relative_to(root))
        for folder in ("services", "shared", "frontdesk")
        for path in (root / folder).rglob("*.py")
        if inserting.search(path.read_text(encoding="utf-8"))
    }
    assert found == {"services/booking/versions.py"}
