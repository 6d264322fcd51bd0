"""The demo organization a newcomer sees first (PRODUCT.md): Maple Community Services.

Its profile (phone, address, contact email, opening hours in every language), two staff
members in their own zones, three services, Monday-Friday 09:00-17:00 with a lunch
break, and one day off in the coming weeks. Loading it twice does nothing the second time.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.booking.models import Organization, Staff
from services.booking.operations import catalog, organization
from shared.db import utcnow

OFFICE_DIAL_IN = "+14165550100"
WEEKDAYS = range(5)
WORKING_HOURS = ((time(9), time(12)), (time(13), time(17)))  # lunch 12:00-13:00

INTAKE_RESOURCES = [
    {
        "title": "Before your intake",
        "url": None,
        "text": "Have your passport or PR card and any letters from IRCC at hand.",
    },
    {
        "title": "Joining a video call",
        "url": "https://meet.example.org/help",
        "text": "Open the link a few minutes early; no account is needed.",
    },
]


PROFILE = {
    "name": "Maple Community Services",
    "phone": "+14165550123",
    "email": "hello@maple.example",
    "address": "120 Maple Street, Toronto ON M5V 2T6",
    "hours": {
        "en": "Monday to Friday, 9:00 to 17:00 (closed 12:00 to 13:00)",
        "fr": "Du lundi au vendredi, de 9 h à 17 h (fermé de 12 h à 13 h)",
        "es": "De lunes a viernes, de 9:00 a 17:00 (cerrado de 12:00 a 13:00)",
        "ar": "من الاثنين إلى الجمعة، من 9:00 إلى 17:00 (مغلق من 12:00 إلى 13:00)",
    },
    "reply_to": "frontdesk@maple.example",
    "default_language": "en",
}


def _day_off(today: date) -> date:
    """A Wednesday two to three weeks ahead: inside the horizon, never today."""
    day = today + timedelta(days=14)
    return day + timedelta(days=(2 - day.weekday()) % 7)


def load_demo(*, session: Session, consent_template_ids: dict[str, int]) -> dict[str, Any]:
    """Create the demo organization unless staff exist; return what was created ({} if nothing).

    Every id in `consent_template_ids` (form name -> consent template id) is required by the
    Settlement intake.
    """
    if session.scalar(sa.select(sa.func.count()).select_from(Staff)):
        return {}
    if session.get(Organization, organization.ROW_ID) is None:  # an admin's own profile stays
        organization.save_profile(
            session=session,
            defaults=organization.Defaults(PROFILE["name"], PROFILE["reply_to"], public_url=""),
            fields=PROFILE,
        )
    amira = catalog.create_staff(
        session=session,
        name="Amira Haddad",
        email="amira@maple.example",
        time_zone="America/Toronto",
        languages=["en", "ar", "fr"],
        video_link_template="https://meet.example.org/maple-amira",
        dial_in=OFFICE_DIAL_IN,
    )
    diego = catalog.create_staff(
        session=session,
        name="Diego Ramírez",
        email="diego@maple.example",
        time_zone="America/Vancouver",
        languages=["en", "es"],
        video_link_template="https://meet.example.org/maple-diego",
    )
    # The office manager runs the console's setup; with no services nobody can book her.
    office = catalog.create_staff(
        session=session,
        name="Grace Okafor",
        email="office@maple.example",
        time_zone="America/Toronto",
        languages=["en", "fr"],
        role="admin",
    )
    rules = [
        {"weekday": weekday, "start_time": start, "end_time": end}
        for weekday in WEEKDAYS
        for start, end in WORKING_HOURS
    ]
    for staff in (amira, diego):
        catalog.replace_rules(session=session, staff=staff, rules=rules)
    day_off = _day_off(utcnow().date())
    catalog.add_exception(
        session=session, staff=amira, date=day_off, kind="off", note="Training day"
    )
    intake = catalog.create_service(
        session=session,
        staff_ids=[amira.id, diego.id],
        name="Settlement intake",
        slug="settlement-intake",
        description="A first conversation about your settlement needs: housing, work, school, papers.",
        duration_minutes=45,
        modes=["video", "phone"],
        buffer_after_minutes=10,
        min_notice_minutes=120,
        horizon_days=60,
        resources=INTAKE_RESOURCES,
        required_consent_template_ids=sorted(set(consent_template_ids.values())),
    )
    tax = catalog.create_service(
        session=session,
        staff_ids=[diego.id],
        name="Tax clinic",
        slug="tax-clinic",
        description="Free help filing your income tax return.",
        duration_minutes=30,
        modes=["in_person", "phone"],
        location="Maple Community Services, 120 Maple Street, Toronto",
        slot_step_minutes=30,
    )
    workshop = catalog.create_service(
        session=session,
        staff_ids=[amira.id],
        name="Job search workshop",
        slug="job-search-workshop",
        description="A group workshop on Canadian resumes and interviews.",
        duration_minutes=90,
        modes=["video"],
        capacity=8,
        slot_step_minutes=90,
    )
    session.flush()
    return {
        "staff": {"amira": amira.id, "diego": diego.id, "office": office.id},
        "services": {s.slug: s.id for s in (intake, tax, workshop)},
        "day_off": day_off.isoformat(),
    }
