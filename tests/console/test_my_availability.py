"""My availability: one day saved at a time, exceptions, busy blocks, external calendars, the
feed link; staff only ever see their own (another's is the same 404), admins pick anyone."""

from __future__ import annotations

import re

from console_builders import csrf_of

from services.booking.models import ExternalCalendar
from shared import db as shared_db


def _week(client) -> dict[int, list[tuple[str, str]]]:
    """The hours the page shows, by weekday (filled inputs only, in order)."""
    html = client.get("/availability").text
    week: dict[int, list[tuple[str, str]]] = {}
    for weekday in range(7):
        form = html.split(f'id="day-{weekday}"')[1].split("</form>")[0]
        starts = re.findall(r'name="start" type="time" value="([^"]*)"', form)
        ends = re.findall(r'name="end" type="time" value="([^"]*)"', form)
        week[weekday] = [(s, e) for s, e in zip(starts, ends, strict=True) if s]
    return week


def _save_day(client, weekday: int, rows: list[tuple[str, str]], remove=(), **extra):
    page = client.get("/availability")
    data = {
        "csrf_token": csrf_of(page.text),
        "start": [s for s, _e in rows],
        "end": [e for _s, e in rows],
        "remove": [str(i) for i in remove],
        **extra,
    }
    return client.post(f"/availability/days/{weekday}", data=data)


def test_saving_tuesday_keeps_every_other_day(make_staff, sign_in):
    make_staff(email="amira@maple.example")
    client = sign_in("amira@maple.example")
    before = _week(client)
    done = _save_day(client, 1, [("09:00", "12:00"), ("13:00", "17:30"), ("", "")])
    assert done.status_code == 302 and done.location.endswith("#day-1")
    after = _week(client)
    assert after[1] == [("09:00", "12:00"), ("13:00", "17:30")]
    assert {d: after[d] for d in range(7) if d != 1} == {d: before[d] for d in range(7) if d != 1}


def test_ticking_remove_takes_an_interval_away_and_an_empty_day_has_no_hours(make_staff, sign_in):
    make_staff(email="amira@maple.example")
    client = sign_in("amira@maple.example")
    _save_day(client, 2, [("09:00", "12:00"), ("13:00", "17:00")])
    _save_day(client, 2, [("09:00", "12:00"), ("13:00", "17:00")], remove=[0])
    assert _week(client)[2] == [("13:00", "17:00")]
    _save_day(client, 2, [("13:00", "17:00")], remove=[0])
    assert _week(client)[2] == []
    assert "No hours." in client.get("/availability").text


def test_an_interval_ending_before_it_starts_shows_bookings_error_and_keeps_input(
    make_staff, sign_in
):
    make_staff(email="amira@maple.example")
    client = sign_in("amira@maple.example")
    before = _week(client)
    page = _save_day(client, 3, [("09:00", "12:00"), ("15:00", "14:00")])
    assert page.status_code == 422
    assert 'id="day-3-1-end-error"' in page.text and "Must be after start_time." in page.text
    assert 'href="#day-3-1-end"' in page.text  # the error summary points at the field
    assert 'value="15:00"' in page.text and 'value="14:00"' in page.text
    assert _week(client) == before


def test_days_off_are_added_listed_and_removed(make_staff, sign_in, future_day):
    make_staff(email="amira@maple.example")
    client = sign_in("amira@maple.example")
    token = csrf_of(client.get("/availability").text)
    added = client.post(
        "/availability/exceptions",
        data={"csrf_token": token, "date": future_day.isoformat(), "kind": "off", "note": "Clinic"},
    )
    assert added.status_code == 302
    html = client.get("/availability").text
    assert future_day.isoformat() in html and "Day off" in html and "Clinic" in html
    exception_id = re.search(r"/availability/exceptions/(\d+)/remove", html).group(1)
    client.post(f"/availability/exceptions/{exception_id}/remove", data={"csrf_token": token})
    assert "No days off or exceptions." in client.get("/availability").text


def test_extra_hours_without_times_show_the_error_next_to_the_field(
    make_staff, sign_in, future_day
):
    make_staff(email="amira@maple.example")
    client = sign_in("amira@maple.example")
    token = csrf_of(client.get("/availability").text)
    page = client.post(
        "/availability/exceptions",
        data={"csrf_token": token, "date": future_day.isoformat(), "kind": "extra", "note": "x"},
    )
    assert page.status_code == 422
    assert 'id="start_time-error"' in page.text
    assert f'value="{future_day.isoformat()}"' in page.text


def test_busy_blocks_are_in_the_staff_members_zone(make_staff, sign_in, future_day):
    make_staff(email="amira@maple.example")
    client = sign_in("amira@maple.example")
    token = csrf_of(client.get("/availability").text)
    day = future_day.isoformat()
    added = client.post(
        "/availability/busy",
        data={"csrf_token": token, "start": f"{day}T09:30", "end": f"{day}T11:00"},
    )
    assert added.status_code == 302
    html = client.get("/availability").text
    assert "09:30" in html and "11:00" in html  # Toronto wall clock, not UTC
    block_id = re.search(r"/availability/busy/(\d+)/remove", html).group(1)
    client.post(f"/availability/busy/{block_id}/remove", data={"csrf_token": token})
    assert "No busy blocks ahead." in client.get("/availability").text


def test_an_external_calendars_last_fetch_problem_is_shown(make_staff, sign_in, booking_app):
    amira = make_staff(email="amira@maple.example")
    with shared_db.get_db(booking_app).transaction() as session:
        session.add(
            ExternalCalendar(
                staff_id=amira,
                name="Clinic calendar",
                url="https://calendar.example.org/secret.ics",
                last_error="HTTP 404 from calendar.example.org",
            )
        )
    html = sign_in("amira@maple.example").get("/availability").text
    assert "Clinic calendar" in html
    assert "Last fetch failed: HTTP 404 from calendar.example.org" in html


def test_a_new_feed_link_is_shown_once_with_webcal_and_the_old_one_stops(
    make_staff, sign_in, booking_app
):
    make_staff(email="amira@maple.example")
    client = sign_in("amira@maple.example")
    confirm = client.get("/availability/feed")
    assert "stop updating" in confirm.text
    first = client.post("/availability/feed", data={"csrf_token": csrf_of(confirm.text)})
    url = re.search(r'id="feed-url" type="text" readonly value="([^"]+)"', first.text).group(1)
    assert 'href="webcal://' in first.text and "Google Calendar" in first.text
    assert "Outlook" in first.text and "Apple Calendar" in first.text
    feeds = booking_app.test_client()
    path = re.sub(r"^https?://[^/]+(/booking)?", "", url)
    assert feeds.get(path).status_code == 200
    client.post("/availability/feed", data={"csrf_token": csrf_of(confirm.text)})
    assert feeds.get(path).status_code == 404


def test_staff_never_reach_another_staff_members_availability(make_staff, sign_in):
    make_staff(email="amira@maple.example")
    diego = make_staff(email="diego@maple.example")
    client = sign_in("amira@maple.example")
    page = client.get(f"/availability?staff={diego}")
    assert "Staff 2" not in page.text  # ?staff is an admin's choice: staff get their own
    before = _week(sign_in("diego@maple.example"))
    _save_day(client, 0, [("10:00", "11:00")], staff=str(diego))
    assert _week(sign_in("diego@maple.example")) == before


def test_admins_edit_anyones_hours(make_staff, sign_in):
    make_staff(email="boss@maple.example", role="admin")
    diego = make_staff(email="diego@maple.example")
    client = sign_in("boss@maple.example")
    page = client.get(f"/availability?staff={diego}")
    assert "Availability of Staff 2" in page.text
    done = _save_day(client, 4, [("08:00", "10:00")], staff=str(diego))
    assert done.status_code == 302 and f"staff={diego}" in done.location
    assert _week(sign_in("diego@maple.example"))[4] == [("08:00", "10:00")]


def test_admins_get_the_same_404_for_a_missing_staff_member(make_staff, sign_in):
    make_staff(email="boss@maple.example", role="admin")
    assert sign_in("boss@maple.example").get("/availability?staff=999").status_code == 404


def test_a_calendar_address_booking_refuses_is_shown_next_to_the_field(make_staff, sign_in):
    make_staff(email="amira@maple.example")
    client = sign_in("amira@maple.example")
    token = csrf_of(client.get("/availability").text)
    page = client.post(
        "/availability/calendars",
        data={"csrf_token": token, "name": "Clinic", "url": "ftp://calendar.example.org/x.ics"},
    )
    assert page.status_code == 422
    assert 'id="url-error"' in page.text and 'href="#url"' in page.text
    assert 'value="ftp://calendar.example.org/x.ics"' in page.text and 'value="Clinic"' in page.text


def test_removing_what_is_already_gone_goes_back_to_the_page(make_staff, sign_in):
    make_staff(email="amira@maple.example")
    client = sign_in("amira@maple.example")
    token = csrf_of(client.get("/availability").text)
    done = client.post("/availability/busy/999999/remove", data={"csrf_token": token})
    assert done.status_code == 302 and done.location.endswith("#busy")
