"""Inviting a staff member: booking adds them (with the admin's own token, so booking checks
the role), the console emails them a sign-in link valid 7 days."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from services.console.clients import BookingClient
from services.console.operations import links


def invite_staff(
    *,
    session: Session,
    booking: BookingClient,
    fields: Mapping[str, Any],
    language: str,
    public_url: str,
    org: Mapping[str, Any],
) -> dict[str, Any]:
    """Add the staff member at booking (its field errors raise ApiProblem) and queue their
    invitation; returns booking's staff record."""
    staff = booking.create_staff(fields)
    links.send_link(
        session=session,
        staff=staff,
        purpose="invitation",
        language=language,
        public_url=public_url,
        org=org,
    )
    return staff
