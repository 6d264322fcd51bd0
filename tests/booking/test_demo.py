"""The demo organization: what a newcomer sees first, created once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.booking.demo import load_demo
from services.booking.operations import availability, catalog, faq

TORONTO = ZoneInfo("America/Toronto")


def test_demo_creates_maple_once_with_bookable_services(session):
    created = load_demo(session=session, consent_template_ids={"recording": 3})
    session.commit()
    assert set(created["services"]) == {"settlement-intake", "tax-clinic", "job-search-workshop"}
    assert load_demo(session=session, consent_template_ids={"recording": 3}) == {}
    intake = catalog.get_service_by_slug(session=session, slug="settlement-intake")
    assert intake.required_consent_template_ids == [3]
    assert (intake.duration_minutes, intake.buffer_after_minutes, intake.min_notice_minutes) == (
        45,
        10,
        120,
    )
    workshop = catalog.get_service_by_slug(session=session, slug="job-search-workshop")
    assert workshop.capacity == 8
    amira = catalog.get_staff(session=session, staff_id=created["staff"]["amira"])
    assert amira.time_zone == "America/Toronto" and amira.dial_in == "+14165550100"
    day_off = date.fromisoformat(created["day_off"])
    monday = day_off - timedelta(days=day_off.weekday())
    slots = availability.search_slots(
        session=session,
        service=intake,
        start_date=monday,
        end_date=monday + timedelta(days=4),
        tz="America/Toronto",
        now=datetime.now(UTC),
    )
    on_day_off = [s for s in slots if s.start.astimezone(TORONTO).date() == day_off]
    assert on_day_off and all(amira.id not in s.staff_ids for s in on_day_off)
    local_hours = {s.start.astimezone(TORONTO).hour for s in slots if amira.id in s.staff_ids}
    assert 12 not in local_hours and 9 in local_hours  # lunch break
    session.rollback()


def test_demo_organization_profile_has_contacts_and_hours_in_every_language(booking_app, session):
    load_demo(session=session, consent_template_ids={})
    session.commit()
    body = booking_app.test_client().get("/api/v1/organization").get_json()
    assert body["name"] == "Maple Community Services"
    assert body["phone"] == "+14165550123" and body["email"] == "hello@maple.example"
    assert "Maple Street" in body["address"]
    assert set(body["hours"]) == {"en", "fr", "es", "ar"}
    assert body["reply_to"] == "frontdesk@maple.example"


def test_demo_help_center_answers_a_search_in_each_language(session):
    load_demo(session=session, consent_template_ids={"recording": 3})
    session.commit()
    for language, q in (("en", "passport"), ("fr", "annuler"), ("es", "cancelar"), ("ar", "جواز")):
        assert faq.search_entries(session=session, language=language, q=q), (language, q)
