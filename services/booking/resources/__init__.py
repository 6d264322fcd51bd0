"""booking's REST API under /api/v1: thin resources that parse, check access and call operations.

Public (no token): the service list, slot search, booking, and the client's manage routes.
Staff and admin: staff, services, availability, appointments. Staff tokens see only their own
staff member's objects; another's answer 404 so ids cannot be probed.
"""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView

from services.booking import api_examples, privacy, schemas
from services.booking.models import ApiToken, Appointment, Staff
from services.booking.operations import appointments, availability, catalog, client_search
from services.booking.operations.appointments import CLIENT, Actor
from services.booking.resources import faq as faq_resources
from services.booking.resources import feeds as feed_resources
from services.booking.resources import organization as organization_resources
from services.booking.resources import questions as question_resources
from shared import db
from shared.api import Blueprint, whoami_blueprint
from shared.auth import current_principal, require, token_blueprint
from shared.db import utcnow
from shared.errors import NotFound
from shared.idempotency import caller_key, fingerprint
from shared.privacy import privacy_blueprint

catalog_blp = Blueprint(
    "catalog", __name__, url_prefix="/api/v1", description="Staff, services and availability"
)
slots_blp = Blueprint("slots", __name__, url_prefix="/api/v1", description="Slot search")
appointments_blp = Blueprint(
    "appointments", __name__, url_prefix="/api/v1", description="Appointments"
)
manage_blp = Blueprint(
    "manage", __name__, url_prefix="/api/v1", description="The client's manage link"
)


def _actor() -> Actor:
    principal = current_principal()
    return Actor(principal.role, principal.staff_id)


def _own_staff(staff_id: int) -> Staff:
    """The staff member, if the caller may act for them (404 otherwise)."""
    if not current_principal().may_act_for_staff(staff_id):
        raise NotFound("No such staff member.", code="staff_not_found")
    return catalog.get_staff(session=db.session(), staff_id=staff_id)


def _own_appointment(appointment_id: int) -> Appointment:
    """The appointment, if the caller may see it (staff: their own; 404 otherwise)."""
    principal = current_principal()
    return appointments.get_appointment(
        session=db.session(),
        appointment_id=appointment_id,
        staff_id=principal.staff_id if principal.role == "staff" else None,
    )


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def _booked_body(booked: appointments.Booked) -> dict:
    public_url = current_app.config["PUBLIC_URL"].rstrip("/")
    return {
        "appointment": booked.appointment,
        "manage_token": booked.manage_token,
        "manage_url": f"{public_url}/booking/manage/{booked.manage_token}",
    }


# --- staff -------------------------------------------------------------------------------------


@catalog_blp.route("/staff")
class StaffCollection(MethodView):
    @catalog_blp.arguments(schemas.StaffQueryArgsSchema, location="query")
    @catalog_blp.response(200, schemas.StaffSchema(many=True))
    @require("admin", "service")
    def get(self, args):
        """List staff members (or the one with an email address)."""
        return catalog.list_staff(session=db.session(), email=args.get("email"))

    @catalog_blp.arguments(schemas.StaffCreateSchema)
    @catalog_blp.response(201, schemas.StaffSchema)
    @require("admin")
    def post(self, data):
        """Add a staff member."""
        return catalog.create_staff(session=db.session(), **data)


@catalog_blp.route("/staff/<id:staff_id>")
class StaffItem(MethodView):
    @catalog_blp.response(200, schemas.StaffSchema)
    @require("admin", "staff", "service")
    def get(self, staff_id):
        """One staff member (staff: only themselves)."""
        return _own_staff(staff_id)

    @catalog_blp.arguments(schemas.StaffUpdateSchema(partial=True))
    @catalog_blp.response(200, schemas.StaffSchema)
    @require("admin")
    def patch(self, data, staff_id):
        """Change a staff member."""
        staff = catalog.get_staff(session=db.session(), staff_id=staff_id)
        return catalog.update_staff(session=db.session(), staff=staff, **data)


_WEEK_DOC = (
    "The whole week, by weekday (0 = Monday ... 6 = Sunday) and start time, in the staff "
    "member's own time zone. `PUT .../rules` replaces the whole week (a weekday left out has "
    "no hours after it); `PUT .../rules/{weekday}` replaces one day and keeps the others."
)


@catalog_blp.route("/staff/<id:staff_id>/availability/rules")
class Rules(MethodView):
    @catalog_blp.response(200, schemas.RuleSchema(many=True), description=_WEEK_DOC)
    @require("admin", "staff")
    def get(self, staff_id):
        """A staff member's weekly availability (in their own time zone)."""
        return catalog.list_rules(session=db.session(), staff=_own_staff(staff_id))

    @catalog_blp.arguments(schemas.RulesSchema)
    @catalog_blp.response(200, schemas.RuleSchema(many=True), description=_WEEK_DOC)
    @require("admin", "staff")
    def put(self, data, staff_id):
        """Replace a staff member's whole week of availability (days left out are cleared)."""
        return catalog.replace_rules(
            session=db.session(), staff=_own_staff(staff_id), rules=data["rules"]
        )


@catalog_blp.route(
    "/staff/<id:staff_id>/availability/rules/<int:weekday>",
    parameters=[
        {
            "in": "path",
            "name": "weekday",
            "required": True,
            "schema": {"type": "integer", "minimum": 0, "maximum": 6},
            **schemas.WEEKDAY_DOCS,
        }
    ],
)
class DayRules(MethodView):
    @catalog_blp.arguments(schemas.DayRulesSchema, example={"rules": api_examples.DAY_RULES})
    @catalog_blp.response(200, schemas.RuleSchema(many=True), description=_WEEK_DOC)
    @require("admin", "staff")
    def put(self, data, staff_id, weekday):
        """Replace one weekday's availability and keep the other days (empty: clears the day)."""
        return catalog.replace_day_rules(
            session=db.session(), staff=_own_staff(staff_id), weekday=weekday, rules=data["rules"]
        )


@catalog_blp.route("/staff/<id:staff_id>/availability/exceptions")
class Exceptions(MethodView):
    @catalog_blp.response(200, schemas.ExceptionSchema(many=True))
    @require("admin", "staff")
    def get(self, staff_id):
        """A staff member's days off and extra hours."""
        return catalog.list_exceptions(session=db.session(), staff=_own_staff(staff_id))

    @catalog_blp.arguments(schemas.ExceptionCreateSchema)
    @catalog_blp.response(201, schemas.ExceptionSchema)
    @require("admin", "staff")
    def post(self, data, staff_id):
        """Add a day off, hours off or extra hours."""
        return catalog.add_exception(session=db.session(), staff=_own_staff(staff_id), **data)


@catalog_blp.route("/staff/<id:staff_id>/availability/exceptions/<id:exception_id>")
class ExceptionItem(MethodView):
    @catalog_blp.response(204)
    @require("admin", "staff")
    def delete(self, staff_id, exception_id):
        """Remove a date exception."""
        catalog.delete_exception(
            session=db.session(), staff=_own_staff(staff_id), exception_id=exception_id
        )


@catalog_blp.route("/staff/<id:staff_id>/busy-blocks")
class BusyBlocks(MethodView):
    @catalog_blp.arguments(schemas.RangeArgsSchema, location="query")
    @catalog_blp.response(200, schemas.BusyBlockSchema(many=True))
    @require("admin", "staff")
    def get(self, args, staff_id):
        """A staff member's busy blocks in a time range."""
        return catalog.list_busy_blocks(session=db.session(), staff=_own_staff(staff_id), **args)

    @catalog_blp.arguments(schemas.BusyBlockCreateSchema)
    @catalog_blp.response(201, schemas.BusyBlockSchema)
    @require("admin", "staff")
    def post(self, data, staff_id):
        """Mark time as busy (never offered as a slot)."""
        return catalog.add_busy_block(session=db.session(), staff=_own_staff(staff_id), **data)


@catalog_blp.route("/staff/<id:staff_id>/busy-blocks/<id:block_id>")
class BusyBlockItem(MethodView):
    @catalog_blp.response(204)
    @require("admin", "staff")
    def delete(self, staff_id, block_id):
        """Remove a busy block."""
        catalog.delete_busy_block(
            session=db.session(), staff=_own_staff(staff_id), block_id=block_id
        )


# --- services ----------------------------------------------------------------------------------


@catalog_blp.route("/services")
class ServiceCollection(MethodView):
    @catalog_blp.arguments(schemas.ServiceListArgsSchema, location="query")
    @catalog_blp.response(200, schemas.ServiceSchema(many=True))
    def get(self, args):
        """List the publicly listed services, optionally those offered in one mode (no token)."""
        return catalog.list_services(session=db.session(), public=True, mode=args["mode"])

    @catalog_blp.arguments(schemas.ServiceCreateSchema)
    @catalog_blp.response(201, schemas.ServiceSchema)
    @require("admin")
    def post(self, data):
        """Add a service (appointment type)."""
        return catalog.create_service(session=db.session(), **data)


@catalog_blp.route("/services/all")
class EveryService(MethodView):
    @catalog_blp.response(200, schemas.ServiceSchema(many=True))
    @require("admin")
    def get(self):
        """List every service, unlisted and inactive ones too (the console's setup)."""
        return catalog.list_services(session=db.session(), public=False)


@catalog_blp.route("/services/<id:service_id>")
class ServiceItem(MethodView):
    @catalog_blp.response(200, schemas.ServiceSchema)
    def get(self, service_id):
        """One active service (no token needed)."""
        return catalog.get_service(session=db.session(), service_id=service_id, public=True)

    @catalog_blp.arguments(schemas.ServiceUpdateSchema(partial=True))
    @catalog_blp.response(200, schemas.ServiceSchema)
    @require("admin")
    def patch(self, data, service_id):
        """Change a service."""
        service = catalog.get_service(session=db.session(), service_id=service_id)
        return catalog.update_service(session=db.session(), service=service, **data)


@slots_blp.route("/services/<id:service_id>/slots")
class Slots(MethodView):
    # An instance, not the class: webargs would build a schema per request (a hot path).
    @slots_blp.arguments(schemas.SlotQueryArgsSchema(), location="query")
    @slots_blp.response(200, schemas.SlotListSchema, example=api_examples.SLOTS)
    @slots_blp.alt_response(429, response="TOO_MANY_REQUESTS")
    def get(self, args, service_id):
        """Bookable slots on the dates start..end, shown in `tz` (no token needed)."""
        # Read-only, outside a transaction (no BEGIN/COMMIT round trips): the search reads the
        # calendars' versions before the calendars, which is all its cache needs.
        caches = current_app.extensions["booking_caches"]
        found = availability.find_slots(
            read_session=db.read_session,
            service_id=service_id,
            start_date=args["start"],
            end_date=args["end"],
            tz=args["tz"],
            staff_id=args["staff"],
            now=utcnow(),
            cache=caches.slots,
        )
        # The same key, window and zone always make the same JSON: kept beside the slots.
        shown = (found.key, found.lo, found.hi, args["tz"])
        body = caches.slot_bodies.get(shown)
        if body is None:
            answer = {"service_id": service_id, "tz": args["tz"], "slots": found.slots}
            body = _SLOT_LIST.dumps(answer).encode()
            caches.slot_bodies.put(shown, body)
        return current_app.response_class(body, mimetype="application/json")


_SLOT_LIST = schemas.SlotListSchema()


# --- appointments ------------------------------------------------------------------------------


@appointments_blp.route("/appointments")
class AppointmentCollection(MethodView):
    @appointments_blp.arguments(schemas.AppointmentListArgsSchema, location="query")
    @appointments_blp.response(
        200,
        schemas.AppointmentSchema(many=True),
        example=[api_examples.APPOINTMENT],
        description=(
            "Each appointment with what an agenda shows (client, callback number, backup plan, "
            "mode and join link, accommodations, service, consent status): a week is one call, "
            "and the number of queries does not grow with the appointments. A staff token "
            "naming another staff member's `staff_id` lists nothing."
        ),
    )
    @require("admin", "staff", "service")
    def get(self, args):
        """List appointments by start time (staff: only their own)."""
        principal = current_principal()
        if principal.role == "staff":
            if args["staff_id"] not in (None, principal.staff_id):
                return []
            args["staff_id"] = principal.staff_id
        return appointments.list_appointments(session=db.session(), **args)

    @appointments_blp.arguments(
        schemas.AppointmentCreateSchema, example=api_examples.BOOK_APPOINTMENT
    )
    @appointments_blp.response(201, schemas.BookedSchema, example=api_examples.BOOKED)
    @appointments_blp.alt_response(
        200, schema=schemas.BookedSchema, description="A replay of an earlier Idempotency-Key"
    )
    @appointments_blp.alt_response(429, response="TOO_MANY_REQUESTS")
    def post(self, data):
        """Book an appointment (no token needed; Idempotency-Key honoured)."""
        session = db.session()
        key = caller_key()
        service = catalog.get_service(
            session=session,
            service_id=data["service_id"],
            public=True,
        )
        booked = appointments.book(
            session=session,
            service=service,
            start=data["start"],
            staff_id=data["staff_id"],
            mode=data["mode"],
            client=data["client"],
            backup=data["backup"],
            accommodations=data["accommodations"],
            client_notes=data["client_notes"],
            secret=_secret(),
            idempotency_key=key,
            fingerprint=fingerprint(request.get_json(silent=True)) if key else None,
            daily_cap=current_app.config["MAX_BOOKINGS_PER_EMAIL_PER_DAY"],
        )
        return _booked_body(booked), 200 if booked.replayed else 201


@appointments_blp.route("/clients")
class ClientCollection(MethodView):
    @appointments_blp.arguments(schemas.ClientSearchArgsSchema, location="query")
    @appointments_blp.response(
        200,
        schemas.ClientEntrySchema(many=True),
        example=[api_examples.CLIENT_ENTRY],
        description=(
            "One entry per client (the email address they book with, in any case), most "
            "recently booked first, with their appointment count and next and last appointment; "
            "`GET /appointments?client_email=` lists their appointments. For a staff token only "
            "its own appointments count."
        ),
    )
    @require("admin", "staff")
    def get(self, args):
        """Find clients by name, email or phone (staff: clients of their own appointments)."""
        principal = current_principal()
        return client_search.search_clients(
            session=db.session(),
            q=args["q"],
            staff_id=principal.staff_id if principal.role == "staff" else None,
            now=utcnow(),
            limit=args["limit"],
        )


@appointments_blp.route("/appointments/<id:appointment_id>")
class AppointmentItem(MethodView):
    @appointments_blp.response(200, schemas.AppointmentSchema)
    @require("admin", "staff", "service")
    def get(self, appointment_id):
        """One appointment (staff: only their own; consent asks whose it is)."""
        return _own_appointment(appointment_id)

    @appointments_blp.arguments(schemas.AppointmentUpdateSchema)
    @appointments_blp.response(200, schemas.AppointmentSchema)
    @require("admin", "staff")
    def patch(self, data, appointment_id):
        """Change notes, contact details or accommodations."""
        fields = dict(data)
        for name, value in (fields.pop("accommodations", None) or {}).items():
            fields[f"accommodation_{name}"] = value
        return appointments.update(
            session=db.session(),
            appointment=_own_appointment(appointment_id),
            actor=_actor(),
            fields=fields,
        )


@appointments_blp.route("/appointments/<id:appointment_id>/cancel")
class AppointmentCancel(MethodView):
    @appointments_blp.arguments(schemas.CancelSchema)
    @appointments_blp.response(200, schemas.AppointmentSchema)
    @require("admin", "staff")
    def post(self, data, appointment_id):
        """Cancel an appointment (the client gets a CANCEL invite)."""
        return appointments.cancel(
            session=db.session(),
            appointment=_own_appointment(appointment_id),
            actor=_actor(),
            reason=data["reason"],
        )


@appointments_blp.route("/appointments/<id:appointment_id>/reschedule")
class AppointmentReschedule(MethodView):
    @appointments_blp.arguments(schemas.RescheduleSchema)
    @appointments_blp.response(200, schemas.AppointmentSchema)
    @require("admin", "staff")
    def post(self, data, appointment_id):
        """Move an appointment to another free slot (same invite, SEQUENCE + 1)."""
        return appointments.reschedule(
            session=db.session(),
            appointment=_own_appointment(appointment_id),
            start=data["start"],
            actor=_actor(),
        )


@appointments_blp.route("/appointments/<id:appointment_id>/complete")
class AppointmentComplete(MethodView):
    @appointments_blp.arguments(schemas.CompleteSchema)
    @appointments_blp.response(200, schemas.AppointmentSchema)
    @require("admin", "staff")
    def post(self, data, appointment_id):
        """Mark a session completed with its outcome and notes (billing is notified)."""
        return appointments.complete(
            session=db.session(),
            appointment=_own_appointment(appointment_id),
            actor=_actor(),
            outcome=data["outcome"],
            notes=data["notes"],
        )


@appointments_blp.route("/appointments/<id:appointment_id>/no-show")
class AppointmentNoShow(MethodView):
    @appointments_blp.response(200, schemas.AppointmentSchema)
    @require("admin", "staff")
    def post(self, appointment_id):
        """Mark that the client did not come."""
        return appointments.mark_no_show(
            session=db.session(), appointment=_own_appointment(appointment_id), actor=_actor()
        )


@appointments_blp.route("/appointments/<id:appointment_id>/resend-invite")
class AppointmentResendInvite(MethodView):
    @appointments_blp.response(
        202,
        schemas.AppointmentSchema,
        description=(
            "The appointment; its confirmation with the calendar invite is queued for the client "
            "again (notify's `GET /messages?appointment_id=` shows its delivery). A cancelled, "
            "completed or past appointment is a 409. With an `Idempotency-Key`, a repeat of the "
            "same key sends nothing more (a double click sends one invite)."
        ),
    )
    @appointments_blp.alt_response(409, response="CONFLICT")
    @require("admin", "staff")
    def post(self, appointment_id):
        """Send the client the invite again (staff: their own appointments)."""
        return appointments.resend_invite(
            session=db.session(),
            appointment=_own_appointment(appointment_id),
            actor=_actor(),
            idempotency_key=caller_key(),
        )


@appointments_blp.route("/appointments/<id:appointment_id>/follow-up")
class AppointmentFollowUp(MethodView):
    @appointments_blp.arguments(schemas.FollowUpSchema)
    @appointments_blp.response(201, schemas.FollowUpBookedSchema)
    @require("admin", "staff")
    def post(self, data, appointment_id):
        """Book the next session for the same client, linked to this one."""
        session = db.session()
        appointment = _own_appointment(appointment_id)
        service = (
            catalog.get_service(session=session, service_id=data["service_id"])
            if data["service_id"]
            else None
        )
        booked = appointments.follow_up(
            session=session,
            appointment=appointment,
            start=data["start"],
            service=service,
            mode=data["mode"],
            secret=_secret(),
            actor=_actor(),
        )
        return {"appointment": booked.appointment}


@appointments_blp.route("/appointments/<id:appointment_id>/history")
class AppointmentHistory(MethodView):
    @appointments_blp.response(200, schemas.HistoryEventSchema(many=True))
    @require("admin", "staff")
    def get(self, appointment_id):
        """Every change of the appointment: who, when, what."""
        return appointments.history(
            session=db.session(), appointment=_own_appointment(appointment_id)
        )


@appointments_blp.route("/appointments/<id:appointment_id>/consents/<id:request_id>")
class AppointmentConsent(MethodView):
    @appointments_blp.arguments(schemas.ConsentPutSchema)
    @appointments_blp.response(200, schemas.ConsentOutSchema(many=True))
    @require("service")
    def put(self, data, appointment_id, request_id):
        """Record a consent request's status (called by the consent service)."""
        session = db.session()
        return appointments.set_consent(
            session=session,
            appointment=appointments.get_appointment(
                session=session, appointment_id=appointment_id
            ),
            request_id=request_id,
            **data,
        )


# --- the client's manage link ------------------------------------------------------------------


@manage_blp.route("/manage/<manage_token:token>")
class ManageItem(MethodView):
    @manage_blp.response(200, schemas.ManagedAppointmentSchema)
    @manage_blp.alt_response(429, response="TOO_MANY_REQUESTS")
    def get(self, token):
        """The client's appointment, by their manage token."""
        return appointments.get_by_manage_token(session=db.session(), token=token)


@manage_blp.route("/manage/<manage_token:token>/cancel")
class ManageCancel(MethodView):
    @manage_blp.arguments(schemas.CancelSchema)
    @manage_blp.response(200, schemas.ManagedAppointmentSchema)
    @manage_blp.alt_response(429, response="TOO_MANY_REQUESTS")
    def post(self, data, token):
        """Cancel by manage token (the link stops working)."""
        session = db.session()
        appointment = appointments.get_by_manage_token(session=session, token=token)
        return appointments.cancel(
            session=session, appointment=appointment, actor=CLIENT, reason=data["reason"]
        )


@manage_blp.route("/manage/<manage_token:token>/reschedule")
class ManageReschedule(MethodView):
    @manage_blp.arguments(schemas.RescheduleSchema)
    @manage_blp.response(200, schemas.ManagedAppointmentSchema)
    @manage_blp.alt_response(429, response="TOO_MANY_REQUESTS")
    def post(self, data, token):
        """Move the appointment to another free slot, by manage token."""
        session = db.session()
        appointment = appointments.get_by_manage_token(session=session, token=token)
        return appointments.reschedule(
            session=session, appointment=appointment, start=data["start"], actor=CLIENT
        )


def blueprints() -> list[Blueprint]:
    """Every API blueprint of the service, in registration order."""
    return [
        whoami_blueprint(),
        catalog_blp,
        slots_blp,
        appointments_blp,
        manage_blp,
        *feed_resources.blueprints(),
        *organization_resources.blueprints(),
        faq_resources.faq_blp,
        question_resources.questions_blp,
        privacy_blueprint(export=privacy.export_client, erase=privacy.erase_client),
        token_blueprint(ApiToken),
    ]
