"""Admins invite staff: booking adds them, the console emails a 7-day sign-in link; the invited
person signs in with it. Booking's field errors show on the form with the input kept."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from console_builders import csrf_of, link_path

from services.console.models import SignInLink
from shared import db as shared_db

INVITE = {
    "name": "Noor Rahimi",
    "email": "noor@maple.example",
    "time_zone": "America/Toronto",
    "role": "staff",
    "language": "fr",
}


def test_an_invited_staff_member_signs_in_from_the_invitation(
    console_app, notify_app, make_staff, sign_in, deliver, emailed_links
):
    make_staff(email="office@maple.example", role="admin")
    office = sign_in("office@maple.example")
    form = office.get("/setup/staff/invite")
    assert form.status_code == 200
    sent = office.post("/setup/staff/invite", data={**INVITE, "csrf_token": csrf_of(form.text)})
    assert sent.status_code == 302
    assert "Noor Rahimi is invited" in office.get(sent.headers["Location"]).text
    deliver()
    [url] = emailed_links("noor@maple.example")
    with shared_db.get_db(console_app).transaction() as session:
        link = session.scalar(sa.select(SignInLink).where(SignInLink.purpose == "invitation"))
        assert link.expires_at - link.created_at == timedelta(days=7)
    noor = console_app.test_client()
    confirm = noor.get(link_path(url))
    done = noor.post(link_path(url), data={"csrf_token": csrf_of(confirm.text)})
    assert done.status_code == 302
    assert "Noor Rahimi" in noor.get("/").text


def test_the_invitation_is_in_the_language_chosen(
    console_app, notify_app, make_staff, sign_in, deliver
):
    from services.notify.models import Message

    make_staff(email="office@maple.example", role="admin")
    office = sign_in("office@maple.example")
    csrf = csrf_of(office.get("/setup/staff/invite").text)
    office.post("/setup/staff/invite", data={**INVITE, "csrf_token": csrf})
    deliver()
    with shared_db.get_db(notify_app).transaction() as session:
        message = session.scalar(sa.select(Message).where(Message.template == "console_invitation"))
        assert message.locale == "fr" and message.recipient == "noor@maple.example"


def test_bookings_field_errors_show_on_the_form_with_the_input_kept(make_staff, sign_in):
    make_staff(email="office@maple.example", role="admin")
    office = sign_in("office@maple.example")
    csrf = csrf_of(office.get("/setup/staff/invite").text)
    answer = office.post(
        "/setup/staff/invite",
        data={**INVITE, "email": "noor@", "time_zone": "Mars/Olympus", "csrf_token": csrf},
    )
    assert answer.status_code == 422
    assert 'value="noor@"' in answer.text and 'value="Noor Rahimi"' in answer.text
    assert 'id="email-error"' in answer.text and 'id="time_zone-error"' in answer.text


def test_staff_cannot_invite(make_staff, sign_in):
    make_staff(email="amira@maple.example")
    amira = sign_in("amira@maple.example")
    assert amira.get("/setup/staff/invite").status_code == 403


def test_frontdesk_console_link_prints_a_one_time_sign_in_link(
    console_app, database_urls, make_staff
):
    from click.testing import CliRunner

    from frontdesk.cli import main

    staff_id = make_staff(email="office@maple.example", role="admin", name="Grace Okafor")
    env = {
        "FRONTDESK_BOOKING_DATABASE_URL": database_urls["booking"],
        "FRONTDESK_CONSOLE_DATABASE_URL": database_urls["console"],
        "FRONTDESK_PUBLIC_URL": "http://frontdesk.test",
    }
    printed = CliRunner().invoke(main, ["console", "link", str(staff_id)], env=env)
    assert printed.exit_code == 0, printed.output
    url = printed.output.strip()
    assert url.startswith("http://frontdesk.test/console/sign-in/fdl_")
    client = console_app.test_client()
    confirm = client.get(link_path(url))
    assert (
        client.post(link_path(url), data={"csrf_token": csrf_of(confirm.text)}).status_code == 302
    )
    assert "Grace Okafor" in client.get("/").text
    unknown = CliRunner().invoke(main, ["console", "link", "999999"], env=env)
    assert unknown.exit_code == 1 and "no active staff member 999999" in unknown.output
