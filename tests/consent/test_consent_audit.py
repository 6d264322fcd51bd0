"""The audit trail is a SHA-256 hash chain: it verifies after a round trip; any change breaks it."""

from __future__ import annotations

import itertools

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from services.consent.models import AuditEvent, ConsentRequest
from services.consent.operations import audit
from shared import db as shared_db


def reload_events(consent_app, request_id: int) -> list[AuditEvent]:
    with shared_db.get_db(consent_app).transaction() as fresh:
        return list(fresh.get(ConsentRequest, request_id).events)


def test_chain_of_a_signed_request_verifies_after_a_database_round_trip(
    consent_app, make_request, sign_request, session
):
    request, token = make_request()
    sign_request(token)
    session.commit()
    events = reload_events(consent_app, request.id)
    assert [e.kind for e in events] == ["created", "disclosure_accepted", "signed"]
    assert events[0].previous_hash == audit.GENESIS_HASH
    assert all(b.previous_hash == a.hash for a, b in itertools.pairwise(events))
    assert audit.verify_chain(events) == audit.ChainCheck(True)


def test_changed_event_breaks_the_chain_at_that_event(
    consent_app, make_request, sign_request, session
):
    request, token = make_request()
    sign_request(token)
    session.commit()
    with shared_db.get_db(consent_app).transaction() as other:
        other.execute(
            sa.update(AuditEvent)
            .where(AuditEvent.request_id == request.id, AuditEvent.sequence == 2)
            .values(ip="198.51.100.1")
        )
    check = audit.verify_chain(reload_events(consent_app, request.id))
    assert check.intact is False and check.broken_at == 2
    assert "changed" in check.reason


def test_rehashed_forgery_still_breaks_the_link_to_the_next_event(
    consent_app, make_request, sign_request, session
):
    request, token = make_request()
    sign_request(token)
    session.commit()
    with shared_db.get_db(consent_app).transaction() as other:
        event = other.scalar(
            sa.select(AuditEvent).where(
                AuditEvent.request_id == request.id, AuditEvent.sequence == 1
            )
        )
        event.user_agent = "forged"
        event.hash = audit.event_hash(event)  # the forger recomputes this event's own hash
    check = audit.verify_chain(reload_events(consent_app, request.id))
    assert check.intact is False and check.broken_at == 2


def test_removed_event_breaks_the_chain(consent_app, make_request, sign_request, session):
    request, token = make_request()
    sign_request(token)
    session.commit()
    with shared_db.get_db(consent_app).transaction() as other:
        other.execute(
            sa.delete(AuditEvent).where(
                AuditEvent.request_id == request.id, AuditEvent.sequence == 2
            )
        )
    check = audit.verify_chain(reload_events(consent_app, request.id))
    assert check.intact is False and check.broken_at == 3


def test_events_keep_time_zone_ip_user_agent_and_locale(make_request, sign_request):
    request, token = make_request()
    sign_request(token)
    signed = request.events[-1]
    assert signed.kind == "signed"
    assert (signed.timezone, signed.ip, signed.user_agent, signed.locale) == (
        "America/Toronto",
        "203.0.113.7",
        "pytest-browser/1.0",
        "en",
    )
    assert signed.occurred_at.tzinfo is not None
    assert signed.details["checkboxes"] == {"recording": True, "sharing": True}


def test_api_reports_a_broken_chain(consent_app, make_request, session, make_token):
    request, _token = make_request()
    session.commit()
    with shared_db.get_db(consent_app).transaction() as other:
        other.execute(sa.update(AuditEvent).values(kind="signed"))
    headers = {"Authorization": f"Bearer {make_token('consent', 'admin')}"}
    trail = consent_app.test_client().get(f"/api/v1/requests/{request.id}/events", headers=headers)
    assert trail.get_json()["chain_intact"] is False
    assert trail.get_json()["broken_at"] == 1


def _chain(kinds: list[str]) -> list[AuditEvent]:
    """A chain built in memory the way record_event builds it."""
    from datetime import UTC, datetime, timedelta

    events, previous = [], audit.GENESIS_HASH
    start = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    for sequence, kind in enumerate(kinds, start=1):
        event = AuditEvent(
            request_id=1,
            sequence=sequence,
            kind=kind,
            occurred_at=start + timedelta(seconds=sequence),
            timezone="America/Toronto",
            ip="203.0.113.7",
            user_agent="ua",
            locale="en",
            details={"n": sequence},
            previous_hash=previous,
        )
        event.hash = audit.event_hash(event)
        previous = event.hash
        events.append(event)
    return events


@settings(max_examples=50, deadline=None)
@given(
    length=st.integers(min_value=1, max_value=8),
    data=st.data(),
    field=st.sampled_from(["kind", "timezone", "ip", "user_agent", "locale", "details"]),
)
def test_any_single_field_change_breaks_the_chain_there(length, data, field):
    events = _chain(["created", "viewed", "signed", "downloaded"] * 2)[:length]
    assert audit.verify_chain(events).intact
    index = data.draw(st.integers(min_value=0, max_value=length - 1))
    original = getattr(events[index], field)
    changed = data.draw(
        st.dictionaries(st.text(max_size=3), st.integers(), min_size=1)
        if field == "details"
        else st.text(min_size=1, max_size=10)
    )
    if changed == original:
        return
    setattr(events[index], field, changed)
    check = audit.verify_chain(events)
    assert not check.intact and check.broken_at == index + 1
