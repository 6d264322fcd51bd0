"""The people of the personal-data tests, and the calendar and outbox steps of their stories."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.booking import outbox
from services.consent import outbox as consent_outbox
from shared.workers import step_on

EMAIL = "ana.souza@example.org"
PHONE = "+14165550123"
NAME = "Ana Souza"
OTHER_EMAIL = "omar.haddad@example.net"
OTHER_PHONE = "+14165550177"
OTHER_NAME = "Omar Haddad"
ANA = {"interpreter": "Portuguese", "notes": "Please call me before"}
OMAR = {"interpreter": "Arabic", "notes": "Ring the bell twice"}


def monday(weeks_ahead: int) -> datetime:
    today = datetime.now(UTC).date() + timedelta(weeks=weeks_ahead)
    return datetime.combine(today - timedelta(days=today.weekday()), time(0), tzinfo=UTC)


def at_local(day: datetime, hour: int) -> datetime:
    local = datetime.combine(day.date(), time(hour), tzinfo=ZoneInfo("America/Toronto"))
    return local.astimezone(UTC)


def dispatch(apps) -> None:
    """Run booking's outbox (past the consent wait) and consent's until nothing is left."""
    later = datetime.now(UTC) + timedelta(minutes=15)
    for _ in range(10):
        sent = step_on(apps["booking"], outbox.dispatch, now=later)
        if not sent + step_on(apps["consent"], consent_outbox.dispatch):
            return
