"""The booking process listens for committed changes (shared.changes, PostgreSQL only): while it
has heard of none, a feed's 304 and a repeated slot search read nothing from the database;
a write from this process is seen at once, one from another host as soon as its NOTIFY
arrives, and while the listener is down every answer is read from the database again."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from shared import changes, testing
from shared import db as shared_db

pytestmark = pytest.mark.skipif(
    not os.environ.get("FRONTDESK_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="LISTEN/NOTIFY needs PostgreSQL: runs in the PostgreSQL pass of .ci/run",
)
TZ = "America/Toronto"
HOUR = timedelta(hours=1)


def counted(app):
    return testing.statements_run(shared_db.get_db(app).engine)


@pytest.fixture
def other_host(booking_app):
    """An engine of its own on the same database: writes the app's process did not make."""
    engine = sa.create_engine(shared_db.get_db(booking_app).url)
    yield engine
    engine.dispose()


def eventually(check, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def slots_path(service, day) -> str:
    return f"/api/v1/services/{service.id}/slots?start={day}&end={day}&tz={TZ}"


def starts(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [slot["start"] for slot in response.get_json()["slots"]]


def test_a_repeated_slot_search_reads_nothing_and_a_booking_here_shows_at_once(
    booking_app, make_service, next_weekday, booking_body, make_token
):
    service = make_service()
    day = next_weekday(2)
    client = booking_app.test_client()
    testing.caught_up(booking_app)
    before = starts(client.get(slots_path(service, day)))
    with counted(booking_app) as statements:
        assert starts(client.get(slots_path(service, day))) == before
    assert statements == []
    booked = client.post("/api/v1/appointments", json=booking_body(service.id, _parse(before[0])))
    assert booked.status_code == 201, booked.get_json()
    with counted(booking_app) as statements:
        after = starts(client.get(slots_path(service, day)))
    assert before[0] not in after  # no wait: this process's commit is known at once
    assert statements  # read again


def test_a_write_from_another_host_reaches_the_feed_and_the_slots(
    booking_app, make_service, next_weekday, other_host, make_token
):
    service = make_service()
    staff = service.staff[0]
    day = next_weekday(3)
    client = booking_app.test_client()
    issued = client.post(
        f"/api/v1/staff/{staff.id}/feed-token",
        headers={"Authorization": f"Bearer {make_token('booking', 'staff', staff_id=staff.id)}"},
    )
    feed = issued.get_json()["url"].split("/booking", 1)[1]
    testing.caught_up(booking_app)
    etag = client.get(feed).headers["ETag"]
    before = starts(client.get(slots_path(service, day)))
    with counted(booking_app) as statements:
        assert client.get(feed, headers={"If-None-Match": etag}).status_code == 304
        assert starts(client.get(slots_path(service, day))) == before
    assert statements == []

    with other_host.begin() as connection:  # what another host's booking commits, in short
        connection.execute(
            sa.text(
                'INSERT INTO busy_blocks (staff_id, start, "end", source, created_at) '
                "VALUES (:staff, :start, :end, 'manual', now())"
            ),
            {"staff": staff.id, "start": _parse(before[0]), "end": _parse(before[0]) + HOUR},
        )
        connection.execute(
            sa.text(
                "INSERT INTO feed_versions (staff_id, version, changed_at, availability_version) "
                "VALUES (:staff, 1, now(), 1) ON CONFLICT (staff_id) DO UPDATE SET "
                "version = feed_versions.version + 1, "
                "availability_version = feed_versions.availability_version + 1, "
                "changed_at = feed_versions.changed_at + interval '1 second'"
            ),
            {"staff": staff.id},
        )
    assert eventually(
        lambda: client.get(feed, headers={"If-None-Match": etag}).status_code == 200
    ), "the feed still revalidated as unchanged"
    assert eventually(lambda: before[0] not in starts(client.get(slots_path(service, day))))


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_while_the_listener_is_down_every_answer_is_read_and_it_comes_back(
    booking_app, make_service, next_weekday, other_host
):
    service = make_service()
    day = next_weekday(4)
    client = booking_app.test_client()
    watcher = booking_app.extensions["frontdesk_memo"].watcher
    starts(client.get(slots_path(service, day)))
    with other_host.connect() as connection:
        killed = connection.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :name AND datname = current_database()"
            ),
            {"name": changes.APPLICATION_NAME},
        ).all()
    assert killed
    assert eventually(lambda: watcher.generation() is None, 15), "the lost listener went unseen"
    with counted(booking_app) as statements:
        starts(client.get(slots_path(service, day)))
        starts(client.get(slots_path(service, day)))
    assert len(statements) >= 2  # every search asks while nothing is heard
    assert watcher.wait_listening(timeout=10)
    testing.caught_up(booking_app)
    starts(client.get(slots_path(service, day)))
    with counted(booking_app) as statements:
        starts(client.get(slots_path(service, day)))
    assert statements == []


def _bodies_read(statements) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith("SELECT SERVICES.")]


def test_a_booking_keeps_its_service_until_a_service_or_staff_change_is_heard(
    booking_app, make_service, next_weekday, booking_body, other_host, make_token
):
    """The service with its staff is read once, not once per booking (bookings write
    appointments and feed_versions, not services); a change to the service from another host,
    or through this process, is used by the very next booking that hears of it."""
    service = make_service(duration_minutes=30, buffer_after_minutes=0)
    day = next_weekday(2)
    client = booking_app.test_client()
    testing.caught_up(booking_app)
    free = [_parse(s) for s in starts(client.get(slots_path(service, day)))]

    def book(start, email):
        body = booking_body(service.id, start)
        body["client"]["email"] = email
        with counted(booking_app) as statements:
            answer = client.post("/api/v1/appointments", json=body)
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()["appointment"], statements

    book(free[0], "first@example.org")
    second, statements = book(free[2], "second@example.org")
    assert _bodies_read(statements) == []  # kept across the first booking's commit
    assert second["end"] == _iso(free[2] + timedelta(minutes=30))
    with counted(booking_app) as statements:  # the slots, computed again, use it too
        assert _iso(free[2]) not in starts(client.get(slots_path(service, day)))
    assert statements and _bodies_read(statements) == []

    with other_host.begin() as connection:  # another host lengthens the service
        connection.execute(
            sa.text("UPDATE services SET duration_minutes = 60 WHERE id = :id"), {"id": service.id}
        )
    testing.caught_up(booking_app)
    third, statements = book(free[4], "third@example.org")
    assert _bodies_read(statements)
    assert third["end"] == _iso(free[4] + timedelta(minutes=60))

    admin = {"Authorization": f"Bearer {make_token('booking', 'admin')}"}
    renamed = client.patch(
        f"/api/v1/services/{service.id}", json={"name": "Renamed intake"}, headers=admin
    )
    assert renamed.status_code == 200, renamed.get_json()
    fourth, _ = book(free[8], "fourth@example.org")  # no wait: this process's own commit
    assert fourth["service_name"] == "Renamed intake"


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
