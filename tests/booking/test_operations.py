"""Appointment operations called directly: rescheduling near itself, manage tokens, the worker."""

from __future__ import annotations

from datetime import timedelta

import pytest

from frontdesk.workers import worker_function
from services.booking import ical
from services.booking.errors import InvalidTransition, ManageLinkNotFound
from services.booking.manage_tokens import hash_manage_token
from services.booking.operations import appointments
from services.booking.operations.appointments import Actor
from services.booking.workers import WORKERS

STAFF = Actor("staff", 1)


def test_reschedule_by_a_quarter_hour_overlapping_its_own_old_time(
    session, make_service, book, next_weekday, at
):
    service = make_service()
    booked = book(service, at(next_weekday(1), 10))
    moved = appointments.reschedule(
        session=session,
        appointment=booked.appointment,
        start=at(next_weekday(1), 10, 15),
        actor=STAFF,
    )
    session.commit()
    assert moved.start == at(next_weekday(1), 10, 15)
    assert moved.blocked_end == moved.start + timedelta(minutes=55)
    assert moved.sequence == 1


def test_manage_token_is_stored_hashed_and_revoked_on_cancel(
    session, make_service, book, next_weekday, at
):
    service = make_service()
    booked = book(service, at(next_weekday(1), 10))
    assert booked.appointment.manage_token_hash == hash_manage_token(booked.manage_token)
    assert booked.manage_token not in str(vars(booked.appointment))
    found = appointments.get_by_manage_token(session=session, token=booked.manage_token)
    assert found.id == booked.appointment.id
    appointments.cancel(session=session, appointment=found, actor=appointments.CLIENT, reason=None)
    session.commit()
    with pytest.raises(ManageLinkNotFound):
        appointments.get_by_manage_token(session=session, token=booked.manage_token)
    with pytest.raises(InvalidTransition):
        appointments.cancel(session=session, appointment=found, actor=STAFF)
    session.rollback()


def test_cancel_invite_is_cancel_with_same_uid_and_next_sequence(
    session, make_service, book, next_weekday, at
):
    service = make_service()
    appointment = book(service, at(next_weekday(1), 10)).appointment
    method, request_text = ical.invite(appointment)
    appointments.cancel(session=session, appointment=appointment, actor=STAFF, reason="ill")
    session.commit()
    cancel_method, cancel_text = ical.invite(appointment)
    assert (method, cancel_method) == ("REQUEST", "CANCEL")
    assert f"UID:{appointment.uid}" in request_text and f"UID:{appointment.uid}" in cancel_text
    assert "SEQUENCE:0" in request_text and "SEQUENCE:1" in cancel_text
    assert "STATUS:CANCELLED" in cancel_text and "VALARM" not in cancel_text
    # The same state always serializes to the same bytes (DTSTAMP is the last change).
    assert ical.invite(appointment)[1] == cancel_text


def test_booking_dispatcher_is_registered_as_a_worker():
    service, run = worker_function("booking")
    assert (service, run) == ("booking", WORKERS["booking"].run)
