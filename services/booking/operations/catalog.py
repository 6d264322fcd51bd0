"""Staff, services and availability (weekly rules, date exceptions, busy blocks)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from services.booking.errors import SlugTaken
from services.booking.models import (
    AvailabilityException,
    AvailabilityRule,
    BusyBlock,
    Service,
    Staff,
)
from shared.errors import NotFound, ValidationFailed


def get_staff(*, session: Session, staff_id: int) -> Staff:
    """One staff member, or 404."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound("No such staff member.", code="staff_not_found")
    return staff


def list_staff(*, session: Session, email: str | None = None) -> list[Staff]:
    """Every staff member, by id; only the one with `email` (any letter case) when given."""
    query = sa.select(Staff).options(selectinload(Staff.calendars)).order_by(Staff.id)
    if email is not None:
        query = query.where(sa.func.lower(Staff.email) == email.strip().lower())
    return list(session.scalars(query))


def create_staff(*, session: Session, **fields: Any) -> Staff:
    """Add a staff member."""
    staff = Staff(**fields)
    session.add(staff)
    session.flush()
    return staff


def update_staff(*, session: Session, staff: Staff, **fields: Any) -> Staff:
    """Change a staff member's fields."""
    for name, value in fields.items():
        setattr(staff, name, value)
    session.flush()
    return staff


_SERVICE_WITH_STAFF = (
    sa.select(Service).where(Service.id == sa.bindparam("id")).options(joinedload(Service.staff))
)


def get_service(*, session: Session, service_id: int, public: bool = False) -> Service:
    """One service, or 404 (public callers only see active ones).

    Its staff come in the same query (a join), not a second one: slot searches and bookings
    need them at once.
    """
    service = session.execute(_SERVICE_WITH_STAFF, {"id": service_id}).unique().scalar()
    if service is None or (public and not service.active):
        raise NotFound("No such service.", code="service_not_found")
    return service


def get_service_by_slug(*, session: Session, slug: str) -> Service:
    """An active service by its slug, or 404."""
    service = session.scalar(sa.select(Service).where(Service.slug == slug, Service.active))
    if service is None:
        raise NotFound("No such service.", code="service_not_found")
    return service


def list_services(*, session: Session, public: bool, mode: str | None = None) -> list[Service]:
    """Services by id (only those offered in `mode`); the public sees active, listed ones."""
    query = sa.select(Service).order_by(Service.id)
    if public:
        query = query.where(Service.active, Service.listed)
    services = list(session.scalars(query))
    return [s for s in services if mode is None or mode in s.modes]


def _assign_staff(session: Session, service: Service, staff_ids: list[int]) -> None:
    staff = list(session.scalars(sa.select(Staff).where(Staff.id.in_(staff_ids))))
    missing = set(staff_ids) - {s.id for s in staff}
    if missing:
        raise ValidationFailed(
            "Unknown staff member(s).", errors={"staff_ids": [f"Unknown: {sorted(missing)}"]}
        )
    service.staff = sorted(staff, key=lambda s: s.id)


def _check_slug(session: Session, slug: str, service_id: int | None) -> None:
    clash = session.scalar(sa.select(Service.id).where(Service.slug == slug))
    if clash is not None and clash != service_id:
        raise SlugTaken(f"The slug {slug!r} is already used.")


def create_service(
    *, session: Session, staff_ids: list[int] | None = None, **fields: Any
) -> Service:
    """Add a service and assign its staff."""
    _check_slug(session, fields["slug"], None)
    service = Service(**fields)
    session.add(service)
    _assign_staff(session, service, staff_ids or [])
    session.flush()
    return service


def update_service(
    *, session: Session, service: Service, staff_ids: list[int] | None = None, **fields: Any
) -> Service:
    """Change a service's fields (and its staff when staff_ids is given)."""
    if "slug" in fields:
        _check_slug(session, fields["slug"], service.id)
    for name, value in fields.items():
        setattr(service, name, value)
    if staff_ids is not None:
        _assign_staff(session, service, staff_ids)
    if "in_person" in service.modes and not service.location:
        raise ValidationFailed(errors={"location": ["In-person services need an address."]})
    session.flush()
    return service


def list_rules(*, session: Session, staff: Staff) -> list[AvailabilityRule]:
    """A staff member's weekly rules, by weekday and start."""
    return list(
        session.scalars(
            sa.select(AvailabilityRule)
            .where(AvailabilityRule.staff_id == staff.id)
            .order_by(AvailabilityRule.weekday, AvailabilityRule.start_time)
        )
    )


def replace_rules(
    *, session: Session, staff: Staff, rules: list[dict[str, Any]]
) -> list[AvailabilityRule]:
    """Replace a staff member's whole week of rules with `rules` (weekday, start_time, end_time;
    weekday 0 is Monday): the days not in `rules` are cleared."""
    session.execute(sa.delete(AvailabilityRule).where(AvailabilityRule.staff_id == staff.id))
    for rule in rules:
        session.add(AvailabilityRule(staff_id=staff.id, **rule))
    session.flush()
    return list_rules(session=session, staff=staff)


def replace_day_rules(
    *, session: Session, staff: Staff, weekday: int, rules: list[dict[str, Any]]
) -> list[AvailabilityRule]:
    """Replace one weekday's rules (start_time, end_time) and keep the other days; returns the
    whole week. Weekday 0 is Monday, 6 Sunday (date.weekday()); an empty list clears the day."""
    if not 0 <= weekday <= 6:
        raise ValidationFailed(
            "The weekday is 0 (Monday) to 6 (Sunday).",
            errors={"weekday": ["0 (Monday) to 6 (Sunday)."]},
        )
    session.execute(
        sa.delete(AvailabilityRule).where(
            AvailabilityRule.staff_id == staff.id, AvailabilityRule.weekday == weekday
        )
    )
    for rule in rules:
        session.add(AvailabilityRule(staff_id=staff.id, weekday=weekday, **rule))
    session.flush()
    return list_rules(session=session, staff=staff)


def list_exceptions(*, session: Session, staff: Staff) -> list[AvailabilityException]:
    """A staff member's date exceptions, by date."""
    return list(
        session.scalars(
            sa.select(AvailabilityException)
            .where(AvailabilityException.staff_id == staff.id)
            .order_by(AvailabilityException.date, AvailabilityException.id)
        )
    )


def add_exception(
    *,
    session: Session,
    staff: Staff,
    date: date,
    kind: str,
    start_time: time | None = None,
    end_time: time | None = None,
    note: str = "",
) -> AvailabilityException:
    """Add a day off, hours off or extra hours on one date."""
    exception = AvailabilityException(
        staff_id=staff.id, date=date, kind=kind, start_time=start_time, end_time=end_time, note=note
    )
    session.add(exception)
    session.flush()
    return exception


def delete_exception(*, session: Session, staff: Staff, exception_id: int) -> None:
    """Remove one of a staff member's date exceptions (404 when not theirs)."""
    exception = session.get(AvailabilityException, exception_id)
    if exception is None or exception.staff_id != staff.id:
        raise NotFound("No such exception.", code="exception_not_found")
    session.delete(exception)
    session.flush()


def list_busy_blocks(
    *, session: Session, staff: Staff, start: datetime, end: datetime
) -> list[BusyBlock]:
    """A staff member's busy blocks overlapping [start, end)."""
    return list(
        session.scalars(
            sa.select(BusyBlock)
            .where(BusyBlock.staff_id == staff.id, BusyBlock.start < end, BusyBlock.end > start)
            .order_by(BusyBlock.start)
        )
    )


def add_busy_block(
    *, session: Session, staff: Staff, start: datetime, end: datetime, source: str = "manual"
) -> BusyBlock:
    """Mark time a staff member is busy elsewhere."""
    block = BusyBlock(staff_id=staff.id, start=start, end=end, source=source)
    session.add(block)
    session.flush()
    return block


def delete_busy_block(*, session: Session, staff: Staff, block_id: int) -> None:
    """Remove one busy block (404 when not theirs)."""
    block = session.get(BusyBlock, block_id)
    if block is None or block.staff_id != staff.id:
        raise NotFound("No such busy block.", code="busy_block_not_found")
    session.delete(block)
    session.flush()
