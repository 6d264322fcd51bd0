"""The weekly summary: every Monday from 07:00 in each staff member's zone, one email in their
language with the week's appointments, consents still pending, messages that failed and
follow-ups due, each linking into the console.

Once per staff member and ISO week: notify's Idempotency-Key is `console-weekly-summary:<staff
id>:<week>`, so two workers racing queue one message (the loser gets the replay, or a 409 if
its body differs; both mean "sent"). `SummarySent` then spares later rounds the calls. Staff
who opted out (`SummaryOptOut`) get none. The worker calls the APIs with the service token.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.console.clients import Clients
from services.console.models import SummaryOptOut, SummarySent
from services.console.operations.organization import current_profile
from shared.db import Database, utcnow
from shared.languages import LANGUAGES
from shared.organization import OrgProfile

TEMPLATE = "console_weekly_summary"
SEND_FROM = time(7)  # local time on Monday from which the week's summary goes out
FOLLOW_UP_LOOKBACK = timedelta(days=30)  # completed "follow-up needed" appointments this recent
FOLLOW_UP_LOOKAHEAD = timedelta(days=120)  # where a booked follow-up is looked for
FAILED_LOOKBACK = timedelta(days=7)
MAX_ITEMS = 25  # per list: the email stays short, the console has the rest


def iso_week(day: date) -> str:
    """'2026-W49': the ISO week a local date belongs to."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def idempotency_key(staff_id: int, week: str) -> str:
    """Notify's key for one staff member's summary of one week."""
    return f"console-weekly-summary:{staff_id}:{week}"


def due_week(staff: Mapping[str, Any], now: datetime) -> str | None:
    """The ISO week whose summary is due for this staff member now (Monday from 07:00 in their
    zone), or None."""
    local = now.astimezone(ZoneInfo(staff["time_zone"]))
    if local.weekday() != 0 or local.time() < SEND_FROM:
        return None
    return iso_week(local.date())


def language_of(staff: Mapping[str, Any]) -> str:
    """The first of the staff member's languages the emails are written in (else English)."""
    return next((code for code in staff.get("languages") or [] if code in LANGUAGES), "en")


def set_opt_out(*, session: Session, staff_id: int, opted_out: bool) -> None:
    """Turn a staff member's weekly summary off (or back on)."""
    row = session.get(SummaryOptOut, staff_id)
    if opted_out and row is None:
        session.add(SummaryOptOut(staff_id=staff_id))
    elif not opted_out and row is not None:
        session.delete(row)
    session.flush()


def is_opted_out(*, session: Session, staff_id: int) -> bool:
    """Whether the staff member turned the weekly summary off."""
    return session.get(SummaryOptOut, staff_id) is not None


def summary_message(
    *,
    clients: Clients,
    staff: Mapping[str, Any],
    now: datetime,
    public_url: str,
    org: OrgProfile,
) -> dict[str, Any]:
    """The notify message for one staff member's week (the seven local days from this Monday)."""
    zone = ZoneInfo(staff["time_zone"])
    monday = now.astimezone(zone).date()
    week_start = datetime.combine(monday, time(0), zone).astimezone(UTC)
    week_end = datetime.combine(monday + timedelta(days=7), time(0), zone).astimezone(UTC)
    console = f"{public_url.rstrip('/')}/console"
    staff_id = staff["id"]

    def link(appointment_id: int) -> str:
        return f"{console}/appointments/{appointment_id}"

    booking = clients.booking
    week = [
        a
        for a in booking.appointments(start=week_start, end=week_end, staff_id=staff_id)
        if a["status"] == "confirmed"
    ]
    appointments = [
        {
            "start": a["start"],
            "client_name": a["client_name"],
            "service_name": a["service_name"],
            "consent_pending": a.get("consent_status") == "pending",
            "url": link(a["id"]),
        }
        for a in week
    ]
    pending = [item for item in appointments if item["consent_pending"]]
    nearby = booking.appointments(
        start=now - FOLLOW_UP_LOOKBACK, end=now + FOLLOW_UP_LOOKAHEAD, staff_id=staff_id
    )
    followed = {a["follow_up_of_id"] for a in nearby if a.get("follow_up_of_id")}
    follow_ups = [
        {
            "start": a["start"],
            "client_name": a["client_name"],
            "service_name": a["service_name"],
            "url": link(a["id"]),
        }
        for a in nearby
        if a["status"] == "completed"
        and a.get("outcome") == "follow_up_needed"
        and a["id"] not in followed
    ]
    failed = [
        {
            "created_at": m["created_at"],
            "url": link(m["appointment_id"]) if m.get("appointment_id") else console + "/",
        }
        for status in ("failed", "dead")
        for m in clients.notify.staff_messages(staff_id, status)
        if datetime.fromisoformat(m["created_at"]) >= now - FAILED_LOOKBACK
    ]
    return {
        "channel": "email",
        "to": staff["email"],
        "template": TEMPLATE,
        "locale": language_of(staff),
        "data": {
            "staff_name": staff["name"],
            **org.message_context(language_of(staff)),
            "timezone": staff["time_zone"],
            "week_start": week_start.isoformat(),
            "console_url": f"{console}/?day={monday.isoformat()}",
            "settings_url": f"{console}/availability#summary",
            "counts": {
                "appointments": len(appointments),
                "pending_consents": len(pending),
                "failed_messages": len(failed),
                "follow_ups": len(follow_ups),
            },
            "appointments": appointments[:MAX_ITEMS],
            "pending_consents": pending[:MAX_ITEMS],
            "failed_messages": failed[:MAX_ITEMS],
            "follow_ups": follow_ups[:MAX_ITEMS],
        },
    }


def _record_sent(database: Database, staff_id: int, week: str) -> None:
    """Remember the week as sent (another worker may have recorded it first)."""
    try:
        with database.transaction() as session:
            session.add(SummarySent(staff_id=staff_id, week=week))
    except IntegrityError:
        pass


def send_weekly_summaries(
    database: Database,
    clients: Clients,
    settings: Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> int:
    """Queue at notify every summary due now and not sent yet; returns how many were queued
    by this call (0 when another worker queued them)."""
    now = now or utcnow()
    due = {}
    for staff in clients.booking.list_staff():
        week = due_week(staff, now) if staff.get("active", True) else None
        if week is not None:
            due[staff["id"]] = (staff, week)
    if not due:
        return 0
    with database.transaction() as session:
        opted_out = set(
            session.scalars(
                sa.select(SummaryOptOut.staff_id).where(SummaryOptOut.staff_id.in_(due))
            )
        )
        done = set(
            session.execute(
                sa.select(SummarySent.staff_id, SummarySent.week).where(
                    SummarySent.staff_id.in_(due)
                )
            ).tuples()
        )
    org = current_profile(booking=clients.booking, config=settings)
    queued = 0
    for staff_id, (staff, week) in due.items():
        if staff_id in opted_out or (staff_id, week) in done:
            continue
        message = summary_message(
            clients=clients,
            staff=staff,
            now=now,
            public_url=settings["PUBLIC_URL"],
            org=org,
        )
        queued += clients.notify.send_once(message, idempotency_key(staff_id, week))
        _record_sent(database, staff_id, week)
    return queued
