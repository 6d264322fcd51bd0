"""Staff and team iCal feeds: contents checked by two parsers, privacy, revalidation, tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import vobject
from icalendar import Calendar
from werkzeug.http import http_date, parse_date

from services.booking import ical, versions
from services.booking import rate_limits as booking_limits
from services.booking.caches import make_caches
from services.booking.models import Appointment, FeedVersion, Staff
from services.booking.operations import appointments, feeds
from services.booking.operations.appointments import Actor
from shared import db as shared_db
from shared import testing

ADMIN = Actor("admin")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def feed_path(url: str) -> str:
    """The app-relative path of a public feed URL (…/booking/feeds/x.ics -> /feeds/x.ics)."""
    return url.split("/booking", 1)[1]


@pytest.fixture
def staff_feed(booking_app, make_token):
    """staff_feed(staff) -> the feed's app path, made through the API with the staff's token."""

    def make(staff) -> str:
        response = booking_app.test_client().post(
            f"/api/v1/staff/{staff.id}/feed-token",
            headers=auth(make_token("booking", "staff", staff_id=staff.id)),
        )
        assert response.status_code == 201, response.get_json()
        return feed_path(response.get_json()["url"])

    return make


@pytest.fixture
def week(session, make_service, book, next_weekday, at):
    """A service and three appointments of one staff member: booked, rescheduled, cancelled."""
    service = make_service(horizon_days=90)
    staff = service.staff[0]
    kept = book(
        service,
        at(next_weekday(0), 10),
        accommodations={"captions": True, "interpreter_language": "Portuguese", "other": "ramp"},
        client_notes="First visit, worried about the forms",
    ).appointment
    moved = book(service, at(next_weekday(1), 11), mode="phone").appointment
    appointments.reschedule(
        session=session, appointment=moved, start=at(next_weekday(2), 14), actor=ADMIN
    )
    gone = book(service, at(next_weekday(3), 9)).appointment
    appointments.cancel(session=session, appointment=gone, actor=ADMIN, reason="sick")
    session.commit()
    return staff, [kept, moved, gone]


def events_by_uid(body: bytes) -> dict[str, object]:
    calendar = Calendar.from_ical(body)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def test_staff_feed_is_read_alike_by_icalendar_and_vobject(booking_app, week, staff_feed):
    staff, booked = week
    response = booking_app.test_client().get(staff_feed(staff))
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    body = response.data

    calendar = Calendar.from_ical(body)
    calendar.validate()
    assert all(not component.errors for component in calendar.walk())
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["NAME"]) == str(calendar["X-WR-CALNAME"]) == "Frontdesk: Amira Haddad"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H" in body
    assert b"X-PUBLISHED-TTL:PT1H" in body
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["America/Toronto"]
    events = events_by_uid(body)
    assert set(events) == {a.uid for a in booked}
    for appointment in booked:
        event = events[appointment.uid]
        assert event["DTSTART"].dt == appointment.start
        assert event["DTEND"].dt == appointment.end
        assert str(event["DTSTART"].dt.tzinfo) == "America/Toronto"
        assert event["SEQUENCE"] == appointment.sequence
        assert event["DTSTAMP"].dt == appointment.updated_at.replace(microsecond=0)
    kept, moved, gone = booked
    assert moved.sequence == 1 and events[moved.uid]["DTSTART"].dt == moved.start
    video = events[kept.uid]
    assert kept.video_url and str(video["LOCATION"]) == kept.video_url
    assert kept.video_url in str(video["DESCRIPTION"])
    assert kept.video_url in [str(c) for c in video.get("CONFERENCE")]
    assert len(video.walk("VALARM")) == 1
    assert str(events[gone.uid]["STATUS"]) == "CANCELLED"
    assert str(events[gone.uid]["SUMMARY"]).startswith("Cancelled: ")
    assert str(events[gone.uid]["TRANSP"]) == "TRANSPARENT"
    assert not events[gone.uid].walk("VALARM")

    parsed = vobject.readOne(body.decode())
    seen = {}
    for vevent in parsed.vevent_list:
        seen[vevent.uid.value] = (vevent.dtstart.value, vevent.dtend.value)
    assert seen == {a.uid: (a.start, a.end) for a in booked}


def test_feed_shows_initials_and_needs_but_no_client_details_by_default(
    booking_app, week, staff_feed
):
    staff, (kept, moved, _gone) = week
    path = staff_feed(staff)
    client = booking_app.test_client()
    private = client.get(path)
    text = private.data.decode()
    unfolded = text.replace("\r\n ", "")
    for secret in ("Ana Souza", "ana@example.org", "+14165550123", "First visit", "ramp", "sick"):
        assert secret not in unfolded, secret
    event = events_by_uid(private.data)[kept.uid]
    description = str(event["DESCRIPTION"])
    assert "Client: A. S." in str(event["SUMMARY"]) and "Client: A. S." in description
    assert "Accommodations: captions; interpreter (Portuguese)" in description
    page = f"http://frontdesk.test/console/appointments/{kept.id}"
    assert f"call the client back: their number is on {page}" in description
    assert f"In the console: {page}" in description
    assert "the client can dial in: +14165550100" in description
    assert "ATTENDEE" not in event
    phone = str(events_by_uid(private.data)[moved.uid]["DESCRIPTION"])
    assert (
        f"Call the client: their number is on http://frontdesk.test/console/appointments/{moved.id}"
        in phone
    )

    booking_app.config["FEED_FULL_DETAILS"] = True
    try:
        full = client.get(path, headers={"If-None-Match": private.headers["ETag"]})
    finally:
        booking_app.config["FEED_FULL_DETAILS"] = False
    assert full.status_code == 200  # the setting is part of the validator
    event = events_by_uid(full.data)[kept.uid]
    description = str(event["DESCRIPTION"])
    assert "Ana Souza" in str(event["SUMMARY"])
    assert "ana@example.org" in description and "+14165550123" in description
    assert "First visit" in description and "ramp" in description
    assert "ATTENDEE" not in event  # METHOD:PUBLISH (RFC 5546 3.2.1): the name is enough


def test_unchanged_feed_is_byte_identical_and_revalidates_with_one_query(
    booking_app, week, staff_feed, session
):
    staff, _ = week
    path = staff_feed(staff)
    client = booking_app.test_client()
    first = client.get(path)
    booking_app.extensions["booking_caches"].clear()  # rebuilt, not cached
    second = client.get(path)
    assert first.data == second.data
    assert first.headers["ETag"] == second.headers["ETag"]
    assert first.headers["Last-Modified"] == second.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "private, max-age=300"
    assert first.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert first.headers["Content-Disposition"] == 'inline; filename="frontdesk.ics"'
    assert first.headers["Referrer-Policy"] == "no-referrer"
    assert "Content-Security-Policy" not in first.headers  # a calendar, not a page
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304

    with testing.statements_run(shared_db.get_db(booking_app).engine) as statements:
        by_etag = client.get(path, headers={"If-None-Match": etag})
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert by_etag.status_code == 304 and by_etag.data == b""
    assert by_etag.headers["ETag"] == etag
    assert by_etag.headers["Cache-Control"] == "private, max-age=300"
    assert by_etag.headers["Referrer-Policy"] == "no-referrer"
    assert "Content-Security-Policy" not in by_etag.headers
    # The validator query, no appointment loaded: the same on every host, with nothing kept
    # between requests but what the ETag names.
    assert len(selects) == 1
    # nginx's gzip turns a strong ETag weak: still a match.
    assert client.get(path, headers={"If-None-Match": f"W/{etag}"}).status_code == 304
    assert client.get(path, headers={"If-Modified-Since": modified}).status_code == 304
    earlier = http_date(parse_date(modified) - timedelta(seconds=1))
    assert client.get(path, headers={"If-Modified-Since": earlier}).status_code == 200
    # If-None-Match wins over If-Modified-Since.
    headers = {"If-None-Match": '"other"', "If-Modified-Since": modified}
    assert client.get(path, headers=headers).status_code == 200


def test_cancellation_moves_etag_and_last_modified_forward(
    booking_app, week, staff_feed, make_token
):
    staff, (kept, _moved, _gone) = week
    path = staff_feed(staff)
    client = booking_app.test_client()
    before = client.get(path)
    response = client.post(
        f"/api/v1/appointments/{kept.id}/cancel",
        json={"reason": None},
        headers=auth(make_token("booking", "staff", staff_id=staff.id)),
    )
    assert response.status_code == 200
    after = client.get(path, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    assert parse_date(after.headers["Last-Modified"]) > parse_date(before.headers["Last-Modified"])
    stale = client.get(path, headers={"If-Modified-Since": before.headers["Last-Modified"]})
    assert stale.status_code == 200
    event = events_by_uid(after.data)[kept.uid]
    assert str(event["STATUS"]) == "CANCELLED" and event["SEQUENCE"] == 1


def test_every_recorded_change_moves_the_version_a_second_forward(session, make_staff):
    staff = make_staff()
    now = datetime(2026, 11, 23, 12, 0, 0, 500_000, tzinfo=UTC)
    versions.bump_version(session, staff.id, now=now)
    versions.bump_version(session, staff.id, now=now)  # the same instant
    versions.bump_version(session, staff.id, now=now - timedelta(hours=1))  # a clock step back
    session.commit()
    row = session.get(FeedVersion, staff.id)
    assert row.version == 3
    assert row.changed_at == datetime(2026, 11, 23, 12, 0, 2, tzinfo=UTC)


def test_rotated_revoked_and_unknown_tokens_answer_the_same_404(
    booking_app, make_staff, staff_feed, make_token
):
    staff = make_staff()
    old = staff_feed(staff)
    client = booking_app.test_client()
    assert client.get(old).status_code == 200
    new = staff_feed(staff)  # rotate
    assert new != old and client.get(new).status_code == 200
    rotated = client.get(old)
    unknown = client.get("/feeds/fdf_" + "A" * 43 + ".ics")
    assert client.get("/feeds/not-a-token.ics").status_code == 404
    team_path = client.get(new.replace("/feeds/", "/feeds/team/"))
    for answer in (rotated, unknown, team_path):
        assert answer.status_code == 404
        assert answer.get_json()["code"] == "feed_not_found"
    assert rotated.get_json()["detail"] == unknown.get_json()["detail"]
    staff_token = auth(make_token("booking", "staff", staff_id=staff.id))
    assert (
        client.delete(f"/api/v1/staff/{staff.id}/feed-token", headers=staff_token).status_code
        == 204
    )
    assert client.get(new).status_code == 404
    # Another staff member's feed is not theirs to rotate: 404, not 403.
    other = make_staff(name="Diego Ruiz", email="diego@maple.example")
    response = client.post(f"/api/v1/staff/{other.id}/feed-token", headers=staff_token)
    assert response.status_code == 404


def test_feed_token_answer_gives_https_and_webcal_urls_once(booking_app, make_staff, make_token):
    staff = make_staff()
    response = booking_app.test_client().post(
        f"/api/v1/staff/{staff.id}/feed-token", headers=auth(make_token("booking"))
    )
    body = response.get_json()
    assert body["url"].startswith("http://frontdesk.test/booking/feeds/fdf_")
    assert body["webcal_url"] == "webcal://" + body["url"].split("://", 1)[1]
    token = body["url"].rsplit("/", 1)[1].removesuffix(".ics")
    with shared_db.get_db(booking_app).transaction() as session:
        stored = session.execute(sa.text("SELECT token_hash FROM feed_tokens")).scalars().all()
    assert token not in stored and len(stored) == 1


def test_team_feed_holds_every_staff_members_appointments_for_admins(
    booking_app, session, make_staff, make_service, book, next_weekday, at, make_token
):
    amira = make_staff()
    diego = make_staff(
        name="Diego Ruiz", email="diego@maple.example", time_zone="America/Vancouver"
    )
    first = book(make_service(staff=[amira]), at(next_weekday(0), 10)).appointment
    second = book(
        make_service(staff=[diego]), at(next_weekday(0), 10, zone="America/Vancouver")
    ).appointment
    client = booking_app.test_client()
    staff_token = auth(make_token("booking", "staff", staff_id=amira.id))
    assert client.post("/api/v1/team/feed-token", headers=staff_token).status_code == 403
    answer = client.post("/api/v1/team/feed-token", headers=auth(make_token("booking")))
    assert answer.status_code == 201
    url = answer.get_json()["url"]
    assert "/booking/feeds/team/fdt_" in url
    response = client.get(feed_path(url))
    assert response.status_code == 200
    events = events_by_uid(response.data)
    assert set(events) == {first.uid, second.uid}
    assert "Diego Ruiz" in str(events[second.uid]["SUMMARY"])
    calendar = Calendar.from_ical(response.data)
    zones = sorted(str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE"))
    assert zones == ["America/Toronto", "America/Vancouver"]
    parsed = vobject.readOne(response.data.decode())
    assert {v.uid.value: v.dtstart.value for v in parsed.vevent_list} == {
        first.uid: first.start,
        second.uid: second.start,
    }
    assert (
        client.get(feed_path(url), headers={"If-None-Match": response.headers["ETag"]}).status_code
        == 304
    )
    appointments.cancel(session=session, appointment=second, actor=ADMIN)
    session.commit()
    assert (
        client.get(feed_path(url), headers={"If-None-Match": response.headers["ETag"]}).status_code
        == 200
    )


def test_feed_is_cut_to_the_size_limit_keeping_the_nearest_appointments(
    booking_app, session, make_service, book, next_weekday, at, monkeypatch
):
    service = make_service(horizon_days=90)
    staff = service.staff[0]
    booked = [
        book(service, at(next_weekday(day % 5, weeks_ahead=1 + day // 5), hour)).appointment
        for day in range(10)
        for hour in (9, 11, 13, 15)
    ]
    token = feeds.issue_token(session=session, staff=staff)
    session.commit()
    settings = feeds.FeedSettings(
        full_details=False, org_name="Frontdesk", public_url="http://frontdesk.test"
    )
    today = datetime.now(UTC).date()
    feed = feeds.find_feed(session=session, token=token, team=False, settings=settings, today=today)
    whole = feeds.build_feed(session=session, feed=feed, settings=settings)
    assert len(events_by_uid(whole)) == len(booked)
    limit = len(whole) // 2
    monkeypatch.setattr(feeds, "MAX_FEED_BYTES", limit)
    cut = feeds.build_feed(session=session, feed=feed, settings=settings)
    assert len(cut) <= limit
    kept = events_by_uid(cut)
    assert 0 < len(kept) < len(booked)
    ordered = sorted(booked, key=lambda a: a.start)
    assert set(kept) == {a.uid for a in ordered[: len(kept)]}  # the soonest ones


def test_client_add_to_calendar_file_is_publish_with_the_invites_uid(
    booking_app, booking_body, make_service, next_weekday, at
):
    service = make_service()
    client = booking_app.test_client()
    booked = client.post(
        "/api/v1/appointments", json=booking_body(service.id, at(next_weekday(1), 10))
    ).get_json()
    response = client.get(f"/manage/{booked['manage_token']}/event.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    calendar.validate()
    assert str(calendar["METHOD"]) == "PUBLISH"
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == booked["appointment"]["uid"]
    parsed = vobject.readOne(response.data.decode())
    assert parsed.vevent.uid.value == booked["appointment"]["uid"]
    assert parsed.vevent.dtstart.value == datetime.fromisoformat(booked["appointment"]["start"])


def test_publish_calendars_name_no_attendee_while_the_invite_does(
    booking_app, booking_body, make_service, next_weekday, at
):
    service = make_service()
    client = booking_app.test_client()
    booked = client.post(
        "/api/v1/appointments", json=booking_body(service.id, at(next_weekday(1), 10))
    ).get_json()
    response = client.get(f"/manage/{booked['manage_token']}/event.ics")
    parsed = vobject.readOne(response.data.decode())
    assert parsed.method.value == "PUBLISH"
    assert "attendee" not in parsed.vevent.contents
    assert parsed.vevent.organizer.value == "mailto:amira@maple.example"
    # The client's own file still spells out their backup plan.
    assert "+14165550123" in parsed.vevent.description.value

    booking_app.config["FEED_FULL_DETAILS"] = True
    try:
        token = make_feed_token(booking_app, booked["appointment"]["staff_id"])
        feed = vobject.readOne(client.get(f"/feeds/{token}.ics").data.decode())
    finally:
        booking_app.config["FEED_FULL_DETAILS"] = False
    assert feed.method.value == "PUBLISH"
    assert [e for e in feed.vevent_list if "attendee" in e.contents] == []

    with shared_db.get_db(booking_app).transaction() as session:
        appointment = session.get(Appointment, booked["appointment"]["id"])
        method, invite = ical.invite(appointment)
    (event,) = vobject.readOne(invite).vevent_list
    assert method == "REQUEST"
    assert [a.value for a in event.contents["attendee"]] == ["mailto:ana@example.org"]


def test_retry_after_is_sent_only_when_the_feed_is_refused(booking_app, week, staff_feed):
    staff, booked = week
    path = staff_feed(staff)
    client = booking_app.test_client()
    fresh = client.get(path)
    assert fresh.status_code == 200 and "Retry-After" not in fresh.headers
    current = client.get(path, headers={"If-None-Match": fresh.headers["ETag"]})
    assert current.status_code == 304 and "Retry-After" not in current.headers
    # The same holds on every rate-limited route, e.g. the public slot search.
    day = booked[0].start.date().isoformat()
    slots = client.get(
        f"/api/v1/services/{booked[0].service_id}/slots", query_string={"start": day, "end": day}
    )
    assert slots.status_code == 200 and "Retry-After" not in slots.headers
    for _ in range(int(booking_limits.FEED_PER_TOKEN.rate.split("/")[0])):
        client.get(path)
    refused = client.get(path)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1


def make_feed_token(app, staff_id: int) -> str:
    """A staff member's feed token, made by the operation."""
    with shared_db.get_db(app).transaction() as session:
        return feeds.issue_token(session=session, staff=session.get(Staff, staff_id))


def test_any_change_to_an_appointment_moves_the_feed_even_without_a_history_entry(
    booking_app, week, staff_feed, session
):
    staff, (_kept, _moved, gone) = week
    path = staff_feed(staff)
    client = booking_app.test_client()
    before = client.get(path)
    # An erasure-like edit of an already cancelled appointment, straight through the ORM.
    session.get(Appointment, gone.id).client_name = "erased"
    session.commit()
    after = client.get(path, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert parse_date(after.headers["Last-Modified"]) > parse_date(before.headers["Last-Modified"])
    session.expire_all()
    version = session.get(FeedVersion, staff.id).version
    session.commit()
    # One change, one step: the flushes inside one transaction move the version once.
    appointment = session.get(Appointment, gone.id)
    appointment.client_notes = "x"
    session.flush()
    appointment.client_notes = "y"
    session.flush()
    session.commit()
    session.expire_all()
    assert session.get(FeedVersion, staff.id).version == version + 1
    session.commit()


def test_edited_accommodations_reach_the_feed_with_a_new_dtstamp(
    booking_app, week, staff_feed, make_token, session
):
    staff, (kept, _moved, _gone) = week
    booked_at = kept.updated_at
    path = staff_feed(staff)
    client = booking_app.test_client()
    before = events_by_uid(client.get(path).data)[kept.uid]
    response = client.patch(
        f"/api/v1/appointments/{kept.id}",
        json={"accommodations": {"captions": False, "interpreter_language": "Tigrinya"}},
        headers=auth(make_token("booking", "admin")),
    )
    assert response.status_code == 200, response.get_json()
    after = events_by_uid(client.get(path).data)[kept.uid]
    assert "Accommodations: interpreter (Tigrinya)" in str(after["DESCRIPTION"])
    session.expire_all()
    changed = session.get(Appointment, kept.id).updated_at
    session.commit()
    assert changed > booked_at  # DTSTAMP is the event's last change (whole seconds)
    assert after["DTSTAMP"].dt == changed.replace(microsecond=0) >= before["DTSTAMP"].dt
    assert after["SEQUENCE"] == before["SEQUENCE"]  # no new invite: the time did not change


def test_icalendar_folds_lines_with_its_own_unpatched_function():
    """No library function is replaced at import: feeds are cached, so icalendar's own
    folding is fast enough (issue 21)."""
    from icalendar.parser import content_line

    import services.booking.ical  # noqa: F401 - what once replaced it

    assert not hasattr(content_line._foldline, "original")
    assert content_line._foldline.__module__.startswith("icalendar")


def test_folded_feed_lines_stay_within_75_octets():
    from icalendar import Event

    event = Event()
    event.add("summary", "Consultation " * 12 + "é" * 40)
    event.add("description", "x" * 74)
    for line in event.to_ical().split(b"\r\n"):
        assert len(line) <= 75
    assert Event.from_ical(event.to_ical())["summary"] == "Consultation " * 12 + "é" * 40


_original_feed_event = feeds.feed_event


def test_a_rebuild_after_one_change_builds_that_event_alone_and_the_same_bytes(
    session, make_service, book, next_weekday, at, monkeypatch
):
    service = make_service(horizon_days=90)
    staff = service.staff[0]
    booked = [
        book(service, at(next_weekday(day), hour)).appointment
        for day in range(5)
        for hour in (9, 13)
    ]
    token = feeds.issue_token(session=session, staff=staff)
    session.commit()
    settings = feeds.FeedSettings(
        full_details=False, org_name="Frontdesk", public_url="http://frontdesk.test"
    )
    built = []
    monkeypatch.setattr(
        feeds, "feed_event", lambda a, **kw: built.append(a.id) or _original_feed_event(a, **kw)
    )

    def body(events=None):
        today = datetime.now(UTC).date()
        feed = feeds.find_feed(
            session=session, token=token, team=False, settings=settings, today=today
        )
        return feeds.build_feed(session=session, feed=feed, settings=settings, events=events)

    events = make_caches(slot_searches=0).events
    first = body(events)
    assert sorted(built) == sorted(a.id for a in booked) and first == body()
    built.clear()
    assert body(events) == first and built == []  # nothing built again

    appointments.cancel(session=session, appointment=booked[3], actor=ADMIN, reason="ill")
    session.commit()
    built.clear()
    after = body(events)
    assert built == [booked[3].id]  # only the changed appointment
    assert after == body() != first  # the same bytes as a build from scratch
    assert "CANCELLED" in str(events_by_uid(after)[booked[3].uid]["STATUS"])

    staff.name = "Amira H. Haddad"  # in every event's ORGANIZER: every event is built again
    session.commit()
    built.clear()
    assert body(events) == body() and len(built) == 2 * len(booked)


@pytest.mark.parametrize("team", [False, True], ids=["staff_feed", "team_feed"])
def test_a_rebuild_after_one_change_loads_that_appointment_alone_whatever_the_feed_size(
    session, make_service, book, next_weekday, at, team
):
    """The events kept from the last build are found by their rows' states (column values, or
    the row's hash on PostgreSQL): a rebuild after one change makes one appointment object (not
    one per event), so its cost follows what changed, not how big the feed has grown."""
    service = make_service(horizon_days=90)
    staff = service.staff[0]
    booked = [
        book(service, at(next_weekday(day, weeks_ahead=weeks), hour)).appointment
        for weeks in (1, 2)
        for day in range(5)
        for hour in (9, 11, 13, 15)
    ]
    token = feeds.issue_token(session=session, staff=None if team else staff)
    session.commit()
    settings = feeds.FeedSettings(
        full_details=False, org_name="Frontdesk", public_url="http://frontdesk.test"
    )
    loaded = []

    def body(events=None):
        session.expunge_all()  # a new request: no appointment already in the session
        feed = feeds.find_feed(
            session=session,
            token=token,
            team=team,
            settings=settings,
            today=datetime.now(UTC).date(),
        )
        return feeds.build_feed(session=session, feed=feed, settings=settings, events=events)

    def note_load(target, _context):
        loaded.append(target.id)

    events = make_caches(slot_searches=0).events
    sa.event.listen(Appointment, "load", note_load)
    try:
        first = body(events)
        assert sorted(loaded) == sorted(a.id for a in booked)
        loaded.clear()
        assert body(events) == first and loaded == []  # nothing changed: no appointment loaded

        changed = session.get(Appointment, booked[17].id)
        changed.client_notes = "Bring the lease"
        changed.accommodation_captions = True
        session.commit()
        loaded.clear()
        after = body(events)
        assert loaded == [changed.id]
    finally:
        sa.event.remove(Appointment, "load", note_load)
    assert after != first and after == body()  # the same bytes as a build from scratch
    assert "captions" in str(events_by_uid(after)[changed.uid]["DESCRIPTION"])
