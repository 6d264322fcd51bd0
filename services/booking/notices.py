"""The bodies of the notify messages booking sends (CONTRACTS.md), built from an appointment."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from sqlalchemy.orm import Session

from services.booking import ical
from services.booking.manage_tokens import (
    manage_token_for,
    question_token_for,
    short_manage_token,
)
from services.booking.models import Appointment, Question
from services.booking.operations import organization
from shared.languages import LANGUAGES
from shared.organization import OrgProfile
from shared.timestamps import utc_iso as iso  # notices.iso, as its callers know it

LOCALES = LANGUAGES


@dataclass(frozen=True)
class Settings:
    """What message building needs from the app's configuration."""

    org_name: str
    public_url: str
    secret: str
    sender: str | None = None  # the address email is sent from (FRONTDESK_MAIL_FROM)
    billing_email: str | None = None
    billing_webhook_url: str | None = None
    billing_webhook_secret: str | None = None
    reply_to: str | None = None  # FRONTDESK_REPLY_TO, until the profile gives one
    # The organization's profile as it is when the message is posted (with_profile): the
    # message says what was true when it was written, and notify needs no call to booking.
    org: OrgProfile | None = None

    @property
    def profile(self) -> OrgProfile:
        """The organization's profile (the settings' name until one is read)."""
        return self.org or OrgProfile(name=self.org_name, reply_to=self.reply_to)

    def with_profile(self, session: Session) -> Settings:
        """These settings with the organization's profile read from booking's own row."""
        defaults = organization.Defaults(self.org_name, self.reply_to, self.public_url)
        return replace(self, org=organization.get_profile(session=session, defaults=defaults))

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Settings:
        """Settings from a Flask app's config."""
        return cls(
            org_name=config["ORG_NAME"],
            public_url=config["PUBLIC_URL"].rstrip("/"),
            secret=config["SECRET_KEY"],
            sender=parseaddr(config["MAIL_FROM"])[1] or None,
            billing_email=config.get("BILLING_EMAIL"),
            billing_webhook_url=config.get("BILLING_WEBHOOK_URL"),
            billing_webhook_secret=config.get("BILLING_WEBHOOK_SECRET"),
            reply_to=config.get("REPLY_TO") or None,
        )


def locale_for(language: str | None) -> str:
    """The notify locale closest to a language tag (notify knows FRONTDESK_LANGUAGES)."""
    base = (language or "en").split("-")[0].lower()
    return base if base in LOCALES else "en"


def reminders_group(appointment: Appointment) -> str:
    """The notify group holding an appointment's reminders."""
    return f"appointment:{appointment.id}:reminders"


def manage_url(settings: Settings, appointment: Appointment) -> str:
    """The client's manage page for the appointment."""
    return (
        f"{settings.public_url}/booking/manage/{manage_token_for(appointment.uid, settings.secret)}"
    )


def short_manage_url(settings: Settings, appointment: Appointment) -> str:
    """The same manage page through its short link (/booking/m/...), for SMS."""
    token = manage_token_for(appointment.uid, settings.secret)
    return f"{settings.public_url}/booking/m/{short_manage_token(token)}"


def state_from(payload: dict[str, Any], appointment: Appointment) -> ical.EventState:
    """The appointment state an intent was written for (the current one if none was kept)."""
    saved = payload.get("state")
    if not saved:
        return ical.EventState.of(appointment)
    return ical.EventState(
        start=datetime.fromisoformat(saved["start"]),
        end=datetime.fromisoformat(saved["end"]),
        sequence=saved["sequence"],
        cancelled=saved["cancelled"],
        stamp=datetime.fromisoformat(saved["stamp"]),
    )


def state_payload(appointment: Appointment) -> dict[str, Any]:
    """The appointment's current state, to keep in an intent."""
    state = ical.EventState.of(appointment)
    return {
        "start": state.start.isoformat(),
        "end": state.end.isoformat(),
        "sequence": state.sequence,
        "cancelled": state.cancelled,
        "stamp": state.stamp.isoformat(),
    }


def template_data(
    settings: Settings,
    appointment: Appointment,
    state: ical.EventState,
    *,
    timezone: str,
    language: str,
) -> dict[str, Any]:
    """The variables every booking template receives (the organization's in `language`)."""
    service = appointment.service
    text = service.text_in(language)
    backup = appointment.backup
    return {
        **settings.profile.message_context(language),
        "client_name": appointment.client_name,
        "service_name": text.name,
        "staff_name": appointment.staff.name,
        "start": iso(state.start),
        "end": iso(state.end),
        "timezone": timezone,
        "mode": appointment.mode,
        "video_url": appointment.video_url if appointment.mode == "video" else None,
        "location": service.location if appointment.mode == "in_person" else None,
        "join_instructions": text.join_instructions if appointment.mode != "in_person" else "",
        "access_notes": text.access_notes if appointment.mode == "in_person" else "",
        "backup": {"callback_number": backup["callback_number"], "dial_in": backup["dial_in"]},
        "manage_url": manage_url(settings, appointment),
        "resources": text.resources,
        "consent_links": [
            {"title": c.form_title, "url": c.signing_url}
            for c in appointment.consents
            if c.signing_url and c.status == "pending"
        ],
        "accommodations": appointment.accommodations,
    }


def _sms(appointment: Appointment, settings: Settings, email: dict[str, Any]) -> dict[str, Any]:
    """The SMS twin of a client email: the same template and data, the short manage link,
    no invite, to the client's phone."""
    data = {**email["data"], "manage_url": short_manage_url(settings, appointment)}
    # A client we only text cannot open signing links sent to an inbox: for a service that
    # takes consent out loud, staff read the form to them and record it.
    data["verbal_consent"] = appointment.service.verbal_consent and not appointment.by_email
    sms = {key: value for key, value in email.items() if key != "attachments"}
    return {**sms, "channel": "sms", "to": appointment.client_phone, "data": data}


def _by_channel(appointment: Appointment, settings: Settings, email: dict[str, Any]) -> list:
    """The email and/or the SMS the client chose to get (email first)."""
    messages = [email] if appointment.by_email else []
    if appointment.by_sms:
        messages.append(_sms(appointment, settings, email))
    return messages


def client_messages(
    settings: Settings, appointment: Appointment, payload: dict[str, Any]
) -> list[dict[str, Any]]:
    """Confirmation, rescheduling or cancellation to the client: the email with the iMIP
    invite and/or the SMS, as the client chose (`notify_by`)."""
    state = state_from(payload, appointment)
    locale = locale_for(appointment.client_language)
    data = template_data(
        settings, appointment, state, timezone=appointment.client_time_zone, language=locale
    )
    data.update(payload.get("extra") or {})
    email: dict[str, Any] = {
        "channel": "email",
        "to": appointment.client_email,
        "template": payload["template"],
        "locale": locale,
        "data": data,
    }
    if appointment.by_email:
        method, calendar = ical.invite(
            appointment, state=state, sent_by=settings.sender, org_name=settings.profile.name
        )
        email["attachments"] = [
            {
                "content_type": "text/calendar",
                "method": method,
                "filename": "invite.ics",
                "content": calendar,
            }
        ]
    return _by_channel(appointment, settings, email)


def staff_notice(
    settings: Settings, appointment: Appointment, payload: dict[str, Any]
) -> dict[str, Any]:
    """A notice to the staff member that an appointment was booked, moved or cancelled."""
    staff = appointment.staff
    state = state_from(payload, appointment)
    language = next((lang for lang in staff.languages or [] if locale_for(lang) == lang), "en")
    data = template_data(settings, appointment, state, timezone=staff.time_zone, language=language)
    data["event"] = payload["event"]
    if payload.get("form_title"):
        data["form_title"] = payload["form_title"]
    # The client's manage link would let staff act as the client: staff get the appointment's
    # API address instead (it needs their own token). Signing links likewise stay the client's.
    data["manage_url"] = f"{settings.public_url}/booking/api/v1/appointments/{appointment.id}"
    data["consent_links"] = []
    return {
        "channel": "email",
        "to": staff.email,
        "template": "booking_staff_notice",
        "locale": language,
        "data": data,
    }


def reminders(settings: Settings, appointment: Appointment, payload: dict[str, Any]) -> list:
    """A reminder to the client by email and/or SMS, scheduled in the reminders group."""
    state = state_from(payload, appointment)
    locale = locale_for(appointment.client_language)
    data = template_data(
        settings, appointment, state, timezone=appointment.client_time_zone, language=locale
    )
    data["consent_missing"] = appointment.consent_status == "pending"
    email = {
        "channel": "email",
        "to": appointment.client_email,
        "template": "booking_reminder",
        "locale": locale,
        "data": data,
        "send_at": payload["send_at"],
        "group": reminders_group(appointment),
    }
    return _by_channel(appointment, settings, email)


SMS_LINKS_MAX = 3  # an SMS lists the soonest few (each link is some 60 characters)


def lost_links(
    settings: Settings,
    first: Appointment,
    found: list[Appointment],
    payload: dict[str, Any],
    *,
    now: datetime,
) -> list[dict[str, Any]]:
    """'Lost my link?': the manage links of the client's upcoming appointments (those still
    upcoming now), to the email or phone stored on the first, in its client's language."""
    upcoming = sorted(
        (a for a in found if a.status == "confirmed" and a.end > now), key=lambda a: a.start
    )
    sms = payload["channel"] == "sms"
    to = first.client_phone if sms else first.client_email
    if not upcoming or not to:
        return []
    locale = locale_for(first.client_language)
    link = short_manage_url if sms else manage_url
    if sms:
        upcoming = upcoming[:SMS_LINKS_MAX]
    data = {
        **settings.profile.message_context(locale),
        "client_name": first.client_name,
        "timezone": first.client_time_zone,
        "appointments": [
            {"service_name": a.service.name, "start": iso(a.start), "manage_url": link(settings, a)}
            for a in upcoming
        ],
    }
    channel = "sms" if sms else "email"
    return [
        {
            "channel": channel,
            "to": to,
            "template": "booking_lost_links",
            "locale": locale,
            "data": data,
        }
    ]


def question_url(settings: Settings, question: Question) -> str:
    """The client's page of a question's thread."""
    return f"{settings.public_url}/booking/questions/{question_token_for(question.uid, settings.secret)}"


def question_answered(settings: Settings, question: Question) -> list[dict[str, Any]]:
    """'Your question has an answer': the link to the thread, by email and/or SMS (no answer
    text in the message: it stays behind the link)."""
    locale = locale_for(question.language)
    data = {
        **settings.profile.message_context(locale),
        "client_name": question.client_name or None,
        "thread_url": question_url(settings, question),
    }
    base = {"template": "booking_question_answered", "locale": locale, "data": data}
    messages = []
    if question.client_email:
        messages.append({**base, "channel": "email", "to": question.client_email})
    if question.client_phone:
        messages.append({**base, "channel": "sms", "to": question.client_phone})
    return messages


def billing_messages(settings: Settings, appointment: Appointment) -> list[tuple[str, dict]]:
    """The billing notice (email and/or signed webhook) for a completed appointment."""
    data = {
        "appointment_id": appointment.id,
        "client_name": appointment.client_name,
        "client_email": appointment.client_email,
        "service_name": appointment.service.name,
        "staff_name": appointment.staff.name,
        "start": iso(appointment.start),
        "end": iso(appointment.end),
        "timezone": appointment.staff.time_zone,
        "outcome": appointment.outcome,
        "org_name": settings.profile.name,
    }
    messages = []
    if settings.billing_email:
        messages.append(
            (
                "email",
                {
                    "channel": "email",
                    "to": settings.billing_email,
                    "template": "billing_notice",
                    "locale": "en",
                    "data": data,
                },
            )
        )
    if settings.billing_webhook_url:
        body = {
            "channel": "webhook",
            "to": settings.billing_webhook_url,
            "event": "appointment.completed",
            "payload": data,
        }
        if settings.billing_webhook_secret:
            body["webhook_secret"] = settings.billing_webhook_secret
        messages.append(("webhook", body))
    return messages


def consent_request(appointment: Appointment, template_id: int, *, send: bool) -> dict[str, Any]:
    """The consent request for one required form (CONTRACTS.md booking -> consent)."""
    if appointment.service.verbal_consent and not appointment.by_email:
        send = False  # staff read the form out and record it; the confirmation SMS says so
    elif appointment.by_sms:
        send = True  # an SMS confirmation has no room for signing links: consent texts each
    body: dict[str, Any] = {
        "template_id": template_id,
        "client_name": appointment.client_name,
        "locale": locale_for(appointment.client_language),
        "appointment_id": appointment.id,
        "timezone": appointment.client_time_zone,
        "send": send,
        # Extras consent accepts: it reminds the client to sign a day before the session.
        "appointment_start": iso(appointment.start),
        "staff_id": appointment.staff_id,
    }
    if appointment.client_email:
        body["client_email"] = appointment.client_email
    if appointment.client_phone:
        body["client_phone"] = appointment.client_phone
    body["notify_by"] = appointment.notify_by
    return body
