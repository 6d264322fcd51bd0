"""shared.db.insert_loaded: one INSERT, and an object the session treats as loaded (no
statement when it is read, changed later through the unit of work as usual)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.notify.models import Message
from shared import db, testing
from shared.db import insert_loaded, utcnow


def _values(**overrides):
    now = utcnow()
    values = {
        "channel": "email",
        "recipient": "ana@example.org",
        "template": None,
        "locale": "en",
        "data": {"name": "Ana"},
        "subject": "Hello",
        "text": "Hi",
        "html": None,
        "attachments": [],
        "event": None,
        "payload": None,
        "group": None,
        "status": "scheduled",
        "send_at": now,
        "next_attempt_at": now,
        "attempt_count": 0,
        "lease_until": None,
        "leased_by": None,
        "idempotency_key": None,
        "fingerprint": None,
        "message_id": "<insert-loaded@example.org>",
        "created_at": now,
        "sent_at": None,
        "last_error": None,
    }
    values.update(overrides)
    return values


def test_one_insert_then_the_object_reads_without_a_query_and_updates_as_usual(notify_app):
    database = db.get_db(notify_app)
    with testing.statements_run(database.engine) as statements, database.transaction() as session:
        message = insert_loaded(session, Message, _values(), attempts=[])
        assert (message.subject, message.data, message.attempts) == ("Hello", {"name": "Ana"}, [])
        assert message.id is not None
        assert message in session and not session.dirty
        message.status = "cancelled"
    writes = [s for s in statements if not s.lstrip().upper().startswith(("BEGIN", "SELECT"))]
    assert [s.split()[0].upper() for s in writes] == ["INSERT", "UPDATE"], statements
    with database.transaction() as session:
        stored = session.get(Message, message.id)
        assert (stored.status, stored.recipient) == ("cancelled", "ana@example.org")


def test_every_column_must_be_given(notify_app):
    values = _values()
    del values["last_error"]
    with db.get_db(notify_app).transaction() as session:
        with pytest.raises(ValueError, match="last_error"):
            insert_loaded(session, Message, values)
        written = sa.select(Message.id).where(Message.message_id == values["message_id"])
        assert session.scalar(written) is None  # refused before any statement
