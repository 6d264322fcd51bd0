"""Outbox operations called directly: claiming, leases, release, dead letters."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.notify import operations
from services.notify.models import Message
from shared import outbox
from shared.db import get_db, utcnow


@pytest.fixture
def queue(notify_app):
    """queue(n) -> ids of n due literal SMS messages."""

    def make(count: int) -> list[int]:
        with get_db(notify_app).transaction() as session:
            return [
                operations.create_message(
                    session=session,
                    fields={"channel": "sms", "to": "+14165550100", "text": f"#{n}"},
                    idempotency_key=None,
                    fingerprint="",
                    mail_from="x@example.org",
                )[0].id
                for n in range(count)
            ]

    return make


def claim(app, now, limit=10, name="w1"):
    with get_db(app).transaction() as session:
        return operations.claim_due(
            session=session,
            now=now,
            limit=limit,
            worker=name,
            lease=timedelta(seconds=60),
            max_attempts=3,
        )


def test_a_leased_message_is_not_claimed_again_until_its_lease_ends(notify_app, queue):
    ids = queue(3)
    now = utcnow()
    assert claim(notify_app, now) == ids
    assert claim(notify_app, now, name="w2") == []
    assert claim(notify_app, now + timedelta(seconds=61), name="w2") == ids


def test_released_messages_are_due_again_without_counting_an_attempt(notify_app, queue):
    ids = queue(3)
    now = utcnow()
    claim(notify_app, now)
    with get_db(notify_app).transaction() as session:
        operations.release(session=session, ids=ids[1:], worker="w1", now=now)
    with get_db(notify_app).transaction() as session:
        rows = {m.id: m for m in session.query(Message)}
    assert [rows[i].status for i in ids] == ["sending", "scheduled", "scheduled"]
    assert [rows[i].attempt_count for i in ids] == [1, 0, 0]
    assert claim(notify_app, now, name="w2") == ids[1:]


def test_a_message_whose_worker_keeps_dying_goes_dead(notify_app, queue):
    [message_id] = queue(1)
    now = utcnow()
    for attempt in range(3):
        assert claim(notify_app, now + timedelta(minutes=2 * attempt)) == [message_id]
    assert claim(notify_app, now + timedelta(minutes=10)) == []
    with get_db(notify_app).transaction() as session:
        message = session.get(Message, message_id)
        assert message.status == "dead"
        assert "3 attempts" in message.last_error


def test_retry_delay_grows_and_honours_retry_after():
    first = outbox.backoff(1, None).total_seconds()
    fourth = outbox.backoff(4, None).total_seconds()
    assert 3.75 <= first <= 6.25
    assert fourth > 40 * first / 1.25 / 1.25 / 2
    assert outbox.backoff(1, 600).total_seconds() >= 600
    assert outbox.backoff(99, None).total_seconds() <= outbox.RETRY_MAX_SECONDS * 1.25


def _recorders(app):
    """Both ways a worker records a try: the ORM transaction, and on PostgreSQL the one
    autocommit statement the worker uses there."""
    database = get_db(app)

    def in_transaction(**attempt):
        with database.transaction() as session:
            operations.record_attempt(session=session, **attempt)

    def in_one_statement(**attempt):
        with database.autocommit() as connection:
            operations.record_attempt_now(connection=connection, **attempt)

    if database.engine.dialect.name == "postgresql":
        return [in_transaction, in_one_statement]
    return [in_transaction]


def test_a_worker_that_outlived_its_lease_only_adds_its_attempt(notify_app, queue):
    for record in _recorders(notify_app):
        [message_id] = queue(1)
        now = utcnow()
        claim(notify_app, now, name="slow")
        claim(notify_app, now + timedelta(seconds=61), name="fast")
        record(message_id=message_id, worker="slow", now=now, status="failed", error="late")
        with get_db(notify_app).transaction() as session:
            message = session.get(Message, message_id)
            assert (message.status, message.leased_by) == ("sending", "fast")
            assert [(a.ok, a.error) for a in message.attempts] == [(False, "late")]
        retry_at = now + timedelta(minutes=5)
        record(
            message_id=message_id,
            worker="fast",
            now=now,
            status="scheduled",
            error="451 later",
            retry_at=retry_at,
        )
        with get_db(notify_app).transaction() as session:
            message = session.get(Message, message_id)
            assert message.status == "scheduled" and message.lease_until is None
            assert message.last_error == "451 later"
            assert message.next_attempt_at == retry_at
        claim(notify_app, retry_at, name="fast")
        record(message_id=message_id, worker="fast", now=retry_at, status="sent", error=None)
        with get_db(notify_app).transaction() as session:
            message = session.get(Message, message_id)
            assert (message.status, message.sent_at, message.last_error) == ("sent", retry_at, None)
            assert [a.ok for a in message.attempts] == [False, False, True]


def test_recording_a_try_at_an_erased_message_adds_nothing(notify_app, queue):
    for record in _recorders(notify_app):
        [message_id] = queue(1)
        claim(notify_app, utcnow())
        with get_db(notify_app).transaction() as session:
            session.delete(session.get(Message, message_id))
        record(message_id=message_id, worker="w1", now=utcnow(), status="sent", error=None)
        with get_db(notify_app).transaction() as session:
            assert session.get(Message, message_id) is None
