"""The agenda: a day in full and its week, in the person's zone; staff see only their own."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from console_builders import local

from services.console.clients import PersonApi
from services.console.errors import ApiProblem
from services.console.pages.access import COOKIE


def test_a_days_row_has_what_a_call_needs(make_staff, book, sign_in, future_day):
    amira = make_staff(email="amira@maple.example")
    appointment = book(amira, local(future_day, 10))
    page = sign_in("amira@maple.example").get(f"/?day={future_day}")
    assert page.status_code == 200
    html = page.text
    assert "Ana Souza" in html and "Settlement intake" in html
    assert "10:00" in html and "10:45" in html  # Toronto time, as the person works
    assert 'href="tel:+14165550123"' in html
    assert '<strong class="interpreter">Interpreter: Portuguese</strong>' in html
    assert f'href="/appointments/{appointment}"' in html
    assert "Join link" in html
    assert "Invitation" in html


def test_times_follow_the_persons_zone(make_staff, book, sign_in, future_day):
    make_staff(email="diego@maple.example", time_zone="America/Vancouver")
    diego = make_staff(email="amira@maple.example")
    book(diego, local(future_day, 10))  # 10:00 in Toronto
    page = sign_in("amira@maple.example").get(f"/?day={future_day}")
    assert "10:00" in page.text
    vancouver = make_staff(email="van@maple.example", time_zone="America/Vancouver")
    book(vancouver, local(future_day, 10, "America/Vancouver"))
    assert "10:00" in sign_in("van@maple.example").get(f"/?day={future_day}").text


def _spring_forward() -> date:
    """The next second Sunday of March (Toronto moves its clocks forward that night)."""
    today = date.today()
    year = today.year if today < date(today.year, 3, 1) else today.year + 1
    first = date(year, 3, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7)


def test_days_are_cut_at_local_midnight_across_a_dst_change(make_staff, book, sign_in):
    # 22:00 in Toronto on the day clocks spring forward is 02:00 UTC the next day.
    day = _spring_forward()
    amira = make_staff(email="amira@maple.example")
    book(amira, local(day, 22))
    client = sign_in("amira@maple.example")
    assert "Ana Souza" in client.get(f"/?day={day}").text.split("This week")[0]
    next_day = client.get(f"/?day={day + timedelta(days=1)}").text
    assert "No appointments on this day." in next_day


def test_staff_never_see_another_staff_members_appointments(make_staff, book, sign_in, future_day):
    amira = make_staff(email="amira@maple.example")
    make_staff(email="bo@maple.example")
    book(amira, local(future_day, 10))
    bo = sign_in("bo@maple.example")
    for url in (
        f"/?day={future_day}",
        f"/?day={future_day}&staff={amira}",
        f"/?day={future_day}&staff=all",
    ):
        page = bo.get(url)
        assert page.status_code == 200 and "Ana Souza" not in page.text, url


def test_another_staff_members_appointment_is_the_same_404_as_a_missing_one(
    console_app, make_staff, book, sign_in, future_day
):
    amira = make_staff(email="amira@maple.example")
    make_staff(email="bo@maple.example")
    appointment = book(amira, local(future_day, 10))
    token = sign_in("bo@maple.example").get_cookie(COOKIE).value
    api = PersonApi(console_app.config, token)
    problems = []
    for appointment_id in (appointment, 999999):
        with pytest.raises(ApiProblem) as caught:
            api.booking.appointment(appointment_id)
        problems.append((caught.value.status, caught.value.code))
    assert problems[0] == problems[1] == (404, problems[0][1])


def test_admins_see_anyone_or_everyone(make_staff, book, sign_in, future_day):
    amira = make_staff(email="amira@maple.example", name="Amira Haddad")
    diego = make_staff(email="diego@maple.example", name="Diego Ramírez")
    make_staff(email="office@maple.example", role="admin", name="Grace Okafor")
    book(amira, local(future_day, 10))
    book(
        diego,
        local(future_day, 11),
        client={
            "name": "Li Wei",
            "email": "li@example.org",
            "phone": None,
            "language": "en",
            "time_zone": "America/Toronto",
        },
    )
    office = sign_in("office@maple.example")
    everyone = office.get(f"/?day={future_day}&staff=all").text
    assert "Ana Souza" in everyone and "Li Wei" in everyone
    only_diego = office.get(f"/?day={future_day}&staff={diego}").text
    assert "Li Wei" in only_diego and "Ana Souza" not in only_diego
    assert '<select id="staff" name="staff">' in only_diego


def test_previous_and_next_day_are_plain_links_with_shortcuts(make_staff, sign_in, future_day):
    make_staff(email="amira@maple.example")
    html = sign_in("amira@maple.example").get(f"/?day={future_day}").text
    assert f'href="/?day={future_day - timedelta(days=1)}" rel="prev"' in html
    assert f'href="/?day={future_day + timedelta(days=1)}" rel="next"' in html
    assert 'aria-keyshortcuts="] j"' in html and "console.js" in html


def test_each_rows_invitation_status_comes_from_notify_in_one_call(
    console_app, notify_app, make_staff, book, sign_in, future_day, monkeypatch
):
    # The day's rows ask notify once for all their messages (not once per row), and a
    # message notify holds about the appointment gives its row's status.
    from services.console.clients import NotifyClient

    office = make_staff(email="office@maple.example", role="admin")
    for hour in (9, 10, 11):
        book(office, local(future_day, hour))
    calls = []
    original = NotifyClient.messages_of_appointments

    def counted(self, ids):
        calls.append(list(ids))
        return original(self, ids)

    monkeypatch.setattr(NotifyClient, "messages_of_appointments", counted)
    html = sign_in("office@maple.example").get(f"/?day={future_day}").text
    assert len(calls) == 1 and len(calls[0]) == 3
    assert html.count("<dt>Invitation</dt>") == 3
    assert "<dt>Invitation</dt><dd>Unknown</dd>" not in html


def test_invite_labels_read_notifys_statuses_and_attempts():
    from services.console.pages.labels import invite_label

    with_context = pytest.importorskip("flask").Flask(__name__)
    from flask_babel import Babel

    Babel(with_context)
    with with_context.test_request_context():
        assert invite_label({"status": "sent", "attempts": [{}]}) == "Delivered"
        assert invite_label({"status": "failed", "attempts": [{}, {}, {}]}) == "Failed (3 attempts)"
        assert invite_label(None) == "Unknown"


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("ar", "الأوقات بتوقيت <bdi>America/Toronto</bdi>."),
        ("en", "Times in <bdi>America/Toronto</bdi>."),
    ],
)
def test_the_time_zone_keeps_its_place_in_a_right_to_left_sentence(
    make_staff, sign_in, future_day, lang, said
):
    # "America/Toronto" is Latin text in an Arabic sentence: without an isolate, the period
    # after it lands on the wrong side. The templates put the <bdi>, so every language has it.
    make_staff(email="amira@maple.example")
    client = sign_in("amira@maple.example")
    agenda = client.get(f"/?day={future_day}&lang={lang}").text
    direction = "rtl" if lang == "ar" else "ltr"
    assert f'<html lang="{lang}" dir="{direction}">' in agenda and said in agenda
    assert said in client.get("/availability").text  # the language is remembered
    assert said.removesuffix(".") in client.get("/questions").text
