"""What one booking sends to the database: its reads before the INSERT, nothing read back after."""

from __future__ import annotations

from shared import db as shared_db
from shared import testing


def test_a_booking_reads_nothing_back_after_inserting_the_appointment(
    booking_app, make_service, next_weekday, at, booking_body
):
    service = make_service()
    client = booking_app.test_client()
    start = at(next_weekday(1), 10)
    with testing.statements_run(shared_db.get_db(booking_app).engine) as statements:
        booked = client.post("/api/v1/appointments", json=booking_body(service.id, start))
    assert booked.status_code == 201, booked.get_json()
    inserted = next(n for n, s in enumerate(statements) if s.startswith("INSERT INTO appointments"))
    # The answer, the history and the outbox use the service, staff and consents the booking
    # has in hand (the flush only added the new row): no SELECT of them after the INSERT. Only
    # SQLite's version bump reads its own row (PostgreSQL's is one upsert).
    read_after = [s for s in statements[inserted:] if s.lstrip().upper().startswith("SELECT")]
    assert [s for s in read_after if "feed_versions" not in s] == []
    assert sum("INSERT INTO appointments" in s for s in statements) == 1
