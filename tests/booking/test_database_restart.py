"""A database restart (every connection of the run's databases terminated, again and again)
under concurrent reads and writes: each answer is a success or the designed 503 + Retry-After,
never a 500, and the booking outbox worker keeps going and catches up afterwards."""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.booking import outbox
from services.booking.models import OutboxIntent
from services.booking.workers import WORKERS
from shared import db as shared_db
from shared import testing
from shared.db import utcnow
from shared.workers import step_on

ON_POSTGRESQL = os.environ.get(testing.TEST_DATABASE_ENV, "").startswith("postgresql")
pytestmark = pytest.mark.skipif(
    not ON_POSTGRESQL,
    reason="pg_terminate_backend needs PostgreSQL: runs in the PostgreSQL pass of .ci/run",
)


def _terminate_backends(admin: sa.Connection, prefix: str) -> int:
    """Terminate every backend of this run's databases (the killer's own excepted)."""
    return admin.execute(
        sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname LIKE :pattern AND pid <> pg_backend_pid()"
        ),
        {"pattern": prefix + "\\_%"},
    ).scalar_one()


@pytest.fixture
def workload(booking_app, make_service, book, next_weekday, at, make_token):
    """Requests that touch every kind of database access of booking: (method, path, kwargs)."""
    service = make_service(horizon_days=90)
    staff = service.staff[0]
    appointment = book(service, at(next_weekday(1), 10)).appointment
    admin = {"Authorization": f"Bearer {make_token('booking', 'admin')}"}
    feed = booking_app.test_client().post(
        f"/api/v1/staff/{staff.id}/feed-token",
        headers={"Authorization": f"Bearer {make_token('booking', 'staff', staff_id=staff.id)}"},
    )
    assert feed.status_code == 201
    day = next_weekday(2)
    return [
        # read_session(): a reader() connection on PostgreSQL
        ("get", f"/api/v1/services/{service.id}/slots?start={day}&end={day}&tz=UTC", {}),
        # Database.reader(): the feed's validators
        ("get", feed.get_json()["url"].split("/booking", 1)[1], {}),
        # the request's session, read only
        ("get", "/api/v1/appointments", {"headers": admin}),
        ("get", f"/{service.slug}", {"headers": {"Accept": "text/html"}}),
        # the request's session, written and committed at the request's end
        (
            "patch",
            f"/api/v1/appointments/{appointment.id}",
            {"headers": admin, "json": {"staff_notes": "Restarted"}},
        ),
    ]


def test_every_read_and_write_answers_2xx_or_503_while_the_database_restarts(
    apps, booking_app, workload, caplog, monkeypatch
):
    prefix = sa.make_url(os.environ[testing.TEST_DATABASE_ENV]).database
    admin_engine = sa.create_engine(
        shared_db.get_db(booking_app).engine.url,
        poolclass=sa.pool.NullPool,
        isolation_level="AUTOCOMMIT",
    )
    stop, answers, errors = threading.Event(), [], []
    worker_stop = threading.Event()
    worker = threading.Thread(
        target=WORKERS["booking"].run, args=(booking_app, worker_stop), daemon=True
    )

    def client_loop() -> None:
        client = booking_app.test_client()
        while not stop.is_set():
            for method, path, kwargs in workload:
                try:
                    response = getattr(client, method)(path, **kwargs)
                except Exception as exc:  # a bug: the app renders every error
                    errors.append((method, path.split("?")[0], exc))
                    continue
                answers.append((method, path.split("?")[0], response.status_code, response))

    def killer() -> None:
        with admin_engine.connect() as admin:
            while not stop.is_set():
                _terminate_backends(admin, prefix)
                time.sleep(0.15)

    caplog.set_level(logging.INFO, logger="frontdesk")
    # As in production: an error in an after_request hook (the commit) is rendered, not raised.
    monkeypatch.setitem(booking_app.config, "PROPAGATE_EXCEPTIONS", False)
    for limiter in booking_app.extensions.get("limiter", ()):  # the feed's, among others
        monkeypatch.setattr(limiter, "enabled", False)
    worker.start()
    threads = [threading.Thread(target=client_loop) for _ in range(3)]
    threads.append(threading.Thread(target=killer))
    for thread in threads:
        thread.start()
    time.sleep(4)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    admin_engine.dispose()

    for engine in {shared_db.get_db(app).engine for app in apps.values()}:
        engine.dispose()  # for the fixtures' cleanup: no connection from before the restart
    assert [(method, path, repr(exc)) for method, path, exc in errors] == []
    statuses = sorted({(method, path, status) for method, path, status, _ in answers})
    assert [s for s in statuses if not (200 <= s[2] < 300 or s[2] == 503)] == []
    assert any(status == 503 for _, _, status in statuses), "the fault did not hit any request"
    for _method, _path, status, response in answers:
        if status == 503:
            assert response.headers["Retry-After"]
    hidden = [r for r in caplog.records if r.exc_info and "PendingRollback" in repr(r.exc_info[1])]
    assert not hidden, hidden[0].exc_info

    # After the restart every path answers again, and the worker sends what was waiting.
    client = booking_app.test_client()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        codes = [getattr(client, m)(p, **kw).status_code for m, p, kw in workload]
        if all(code == 200 for code in codes):
            break
    assert codes == [200] * len(workload)
    assert worker.is_alive()
    worker_stop.set()
    worker.join(timeout=10)
    # Past any backoff or lease the faults left, the confirmation goes out.
    step_on(booking_app, outbox.dispatch, now=utcnow() + timedelta(hours=3))
    with shared_db.get_db(booking_app).transaction() as session:
        confirmation = session.scalars(
            sa.select(OutboxIntent.status).where(OutboxIntent.kind == "notify.client")
        ).first()
    assert confirmation == "sent"
