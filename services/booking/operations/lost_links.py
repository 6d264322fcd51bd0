"""'Lost my link?': the manage links of a contact's upcoming appointments, sent to that contact.

The caller learns nothing: whether or not an appointment matches, the operation returns the
same nothing and the page says the same words. The message goes through the outbox (never
inline), so an answer takes as long with a match as without one, and it goes only to the
address or number stored on the appointments, in the client's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.booking import outbox
from services.booking.models import Appointment
from shared.email_addresses import mailbox_key
from shared.fields import to_e164

CONTACT_MAX = 320
# A national number without its country code is matched by its last digits: at least this many.
NATIONAL_DIGITS_MIN = 7
# One message lists at most this many appointments (the soonest).
LINKS_MAX = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Contact:
    """What the client typed, read as an email mailbox or a phone number."""

    channel: str  # "email" or "sms"
    key: str  # the mailbox key, the E.164 number, or a national number's digits
    international: bool = True


def read_contact(typed: str) -> Contact | None:
    """The contact a client typed (an email address or a phone number), or None if neither."""
    typed = typed.strip()
    if not typed or len(typed) > CONTACT_MAX:
        return None
    if "@" in typed:
        return Contact("email", mailbox_key(typed)) if _EMAIL.match(typed) else None
    if typed.startswith("+"):
        try:
            return Contact("sms", to_e164(typed))
        except ValueError:
            return None
    digits = re.sub(r"[\s().\-/]", "", typed)
    if digits.isdigit() and len(digits) >= NATIONAL_DIGITS_MIN:
        return Contact("sms", digits.lstrip("0"), international=False)
    return None


def _matching(contact: Contact) -> sa.ColumnElement[bool]:
    if contact.channel == "email":
        return Appointment.client_email_key == contact.key
    if contact.international:
        return Appointment.client_phone == contact.key
    return Appointment.client_phone.endswith(contact.key, autoescape=True)


def send_lost_links(*, session: Session, contact: Contact, now: datetime) -> None:
    """Queue one message with the manage links of the contact's upcoming appointments, to the
    contact stored on them; queue nothing when none matches."""
    found = session.scalars(
        sa.select(Appointment)
        .where(_matching(contact), Appointment.status == "confirmed", Appointment.end > now)
        .order_by(Appointment.start, Appointment.id)
        .limit(LINKS_MAX)
    ).all()
    if not found:
        return
    if contact.channel == "sms":
        # Two stored numbers may end with the same national digits: the soonest one's only.
        found = [a for a in found if a.client_phone == found[0].client_phone]
    payload = {"channel": contact.channel, "appointment_ids": [a.id for a in found]}
    outbox.add_intent(session, found[0], "notify.lost_links", payload)
    session.flush()
