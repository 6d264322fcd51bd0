"""The weekly summary: Monday from 07:00 in each staff member's zone and language, once per
staff member and ISO week even with two workers at once, none for those who opted out."""

from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from console_builders import csrf_of, local

from services.booking.models import Appointment
from services.console.clients import service_clients
from services.console.operations import summaries
from services.notify import rendering
from services.notify.models import Message
from shared import db as shared_db

TORONTO = ZoneInfo("America/Toronto")


def _monday(future_day: date) -> date:
    return future_day - timedelta(days=future_day.weekday())


def _at(day: date, hour: int, zone: ZoneInfo = TORONTO) -> datetime:
    return datetime.combine(day, time(hour), zone)


def _summaries(notify_app) -> list[Message]:
    with shared_db.get_db(notify_app).transaction() as session:
        rows = session.scalars(
            sa.select(Message).where(Message.template == summaries.TEMPLATE).order_by(Message.id)
        ).all()
        session.expunge_all()
        return rows


def _run(console_app, now: datetime) -> int:
    return summaries.send_weekly_summaries(
        shared_db.get_db(console_app),
        service_clients(console_app.config),
        console_app.config,
        now=now,
    )


def test_two_workers_at_once_send_one_summary_per_staff_and_week(
    console_app, notify_app, make_staff, book, future_day
):
    amira = make_staff(email="amira@maple.example")
    diego = make_staff(email="diego@maple.example")
    monday = _monday(future_day)
    book(amira, local(future_day, 10))
    book(diego, local(future_day, 11))
    now = _at(monday, 8)
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        clients = service_clients(console_app.config)  # each worker its own connections
        barrier.wait()
        try:
            results.append(
                summaries.send_weekly_summaries(
                    shared_db.get_db(console_app), clients, console_app.config, now=now
                )
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    sent = _summaries(notify_app)
    assert sorted(m.recipient for m in sent) == ["amira@maple.example", "diego@maple.example"]
    assert sum(results) == 2
    # Later rounds that week send nothing more; the next Monday sends again.
    assert _run(console_app, now + timedelta(hours=3)) == 0
    assert _run(console_app, now + timedelta(days=7)) == 2
    assert len(_summaries(notify_app)) == 4


def test_nothing_goes_before_monday_7_in_the_staff_members_zone(
    console_app, notify_app, make_staff, future_day
):
    make_staff(email="van@maple.example", time_zone="America/Vancouver")
    monday = _monday(future_day)
    vancouver = ZoneInfo("America/Vancouver")
    assert _run(console_app, _at(monday, 6, vancouver)) == 0
    assert _run(console_app, _at(monday - timedelta(days=1), 12, vancouver)) == 0
    assert _run(console_app, _at(monday, 7, TORONTO)) == 0  # 04:00 in Vancouver
    assert _run(console_app, _at(monday, 7, vancouver)) == 1
    assert _summaries(notify_app)[0].recipient == "van@maple.example"


def test_the_summary_lists_the_week_with_console_links_in_the_staff_members_language(
    console_app, notify_app, booking_app, make_staff, book, future_day
):
    amira = make_staff(email="amira@maple.example", languages=["pt", "fr", "en"])
    monday = _monday(future_day)
    this_week = book(amira, local(future_day, 10))
    seen = book(amira, local(monday - timedelta(days=3), 10))
    with shared_db.get_db(booking_app).transaction() as session:
        session.get(Appointment, seen).status = "completed"
        session.get(Appointment, seen).outcome = "follow_up_needed"
    book(amira, local(future_day + timedelta(days=7), 10))  # next week: not in this one
    assert _run(console_app, _at(monday, 9)) == 1
    [message] = _summaries(notify_app)
    assert message.locale == "fr"
    data = message.data
    assert data["counts"]["appointments"] == 1 and data["counts"]["follow_ups"] == 1
    assert (
        data["appointments"][0]["url"] == f"http://frontdesk.test/console/appointments/{this_week}"
    )
    assert data["follow_ups"][0]["url"] == f"http://frontdesk.test/console/appointments/{seen}"
    rendered = rendering.render(template=message.template, locale=message.locale, data=data)
    assert "Votre semaine" in rendered.subject
    assert f"/console/appointments/{this_week}" in rendered.html
    assert "Ana Souza" in rendered.text and "Suivis à prévoir (1)" in rendered.text


@pytest.mark.parametrize("locale", rendering.LOCALES)
def test_the_summary_renders_in_every_language(
    locale, console_app, notify_app, make_staff, book, future_day
):
    amira = make_staff(email="amira@maple.example", languages=[locale])
    book(amira, local(future_day, 10))
    _run(console_app, _at(_monday(future_day), 8))
    [message] = _summaries(notify_app)
    rendered = rendering.render(template=message.template, locale=message.locale, data=message.data)
    assert message.locale == locale and "Ana Souza" in rendered.html


def test_staff_who_opt_out_in_the_console_get_none(
    console_app, notify_app, make_staff, sign_in, future_day
):
    make_staff(email="amira@maple.example")
    make_staff(email="diego@maple.example")
    client = sign_in("amira@maple.example")
    page = client.get("/availability")
    assert 'id="weekly" name="weekly" value="on" checked' in page.text
    done = client.post("/availability/summary", data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 302
    assert 'id="weekly" name="weekly" value="on" checked' not in client.get("/availability").text
    assert _run(console_app, _at(_monday(future_day), 8)) == 1
    assert [m.recipient for m in _summaries(notify_app)] == ["diego@maple.example"]
