"""Consent's calls to notify and booking go through the outbox: delivered for real in-process,
kept and retried when the other service is down, never dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from consent_builders import form_content

from services.consent import outbox
from services.consent.models import OutboxItem
from services.consent.workers import WORKERS
from shared import db as shared_db
from shared.http import NotifyClient
from shared.workers import step_on

SIGNATURE = {
    "typed_name": "Ana López",
    "disclosure_accepted": True,
    "checkboxes": {"recording": True, "sharing": True},
}


@pytest.fixture
def consent(consent_app, make_token):
    client = consent_app.test_client()
    admin = {"Authorization": f"Bearer {make_token('consent', 'admin')}"}
    template = client.post(
        "/api/v1/templates", json={"name": "Recording", **form_content()}, headers=admin
    ).get_json()

    class Consent:
        template_id = template["id"]

        @staticmethod
        def ask(**overrides):
            body = {
                "template_id": template["id"],
                "client_name": "Ana López",
                "client_email": "ana@example.org",
                "locale": "es",
                "timezone": "America/Toronto",
            }
            body.update(overrides)
            response = client.post("/api/v1/requests", json=body, headers=admin)
            assert response.status_code == 201, response.get_json()
            return response.get_json()

        @staticmethod
        def post(path, json=None):
            return client.post(path, json=json or {}, headers=admin)

        @staticmethod
        def get(path):
            return client.get(path, headers=admin).get_json()

    return Consent


@pytest.fixture
def notify_messages(notify_app, make_token):
    client = notify_app.test_client()
    headers = {"Authorization": f"Bearer {make_token('notify', 'admin')}"}

    def messages(**params):
        response = client.get("/api/v1/messages", query_string=params, headers=headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    return messages


@pytest.fixture
def notify_down(consent_app):
    """Point consent's notify client at a closed port (connection refused, no retries)."""
    clients = consent_app.extensions["clients"]
    saved, down = clients.notify, NotifyClient("http://127.0.0.1:9", token="x", retries=0)
    clients.notify = down
    yield saved  # the working client, for a test to bring notify back
    down.close()
    clients.notify = saved


def outbox_items(consent_app) -> list[OutboxItem]:
    with shared_db.get_db(consent_app).transaction() as session:
        return list(session.scalars(sa.select(OutboxItem).order_by(OutboxItem.id)))


def make_due(consent_app) -> None:
    with shared_db.get_db(consent_app).transaction() as session:
        session.execute(sa.update(OutboxItem).values(next_attempt_at=datetime.now(UTC)))


def test_signing_link_is_sent_through_notify_and_recorded_as_sent(
    consent_app, consent, notify_messages
):
    created = consent.ask()
    assert step_on(consent_app, outbox.dispatch) == 1
    (message,) = notify_messages()
    assert message["template"] == "consent_request"
    assert message["to"] == "ana@example.org"
    assert message["locale"] == "es"
    trail = consent.get(f"/api/v1/requests/{created['id']}/events")
    assert [e["kind"] for e in trail["events"]] == ["created", "sent"]
    assert trail["chain_intact"] is True
    assert step_on(consent_app, outbox.dispatch) == 0  # delivered once


def test_notify_down_keeps_the_send_and_retries_it(
    consent_app, consent, notify_messages, notify_down
):
    created = consent.ask()
    assert created["status"] == "pending"  # the request itself does not fail
    assert step_on(consent_app, outbox.dispatch) == 0
    (item,) = outbox_items(consent_app)
    assert item.attempts == 1 and item.status == "pending"
    assert "did not answer" in item.last_error
    assert item.next_attempt_at > datetime.now(UTC)
    assert step_on(consent_app, outbox.dispatch) == 0  # not due yet: backoff
    consent_app.extensions["clients"].notify = notify_down  # notify is back
    make_due(consent_app)
    assert step_on(consent_app, outbox.dispatch) == 1
    assert [m["template"] for m in notify_messages()] == ["consent_request"]
    (item,) = outbox_items(consent_app)
    assert item.attempts == 2 and item.status == "sent"


def test_signed_consent_emails_a_download_link_never_the_pdf(consent_app, consent, notify_messages):
    created = consent.ask(send=False)
    token = created["signing_url"].rsplit("/", 1)[1]
    signed = consent_app.test_client().post(f"/api/v1/sign/{token}", json=SIGNATURE).get_json()
    (queued,) = outbox_items(consent_app)
    assert queued.body["data"]["download_url"] == signed["download_url"]
    assert "attachments" not in queued.body
    step_on(consent_app, outbox.dispatch)
    (message,) = notify_messages()
    assert message["template"] == "consent_signed"
    # Once notify has it, consent keeps no copy of the link.
    (delivered,) = outbox_items(consent_app)
    assert delivered.body["data"]["download_url"] == "[delivered]"


def test_reminder_is_scheduled_before_the_appointment_and_cancelled_on_signing(
    consent_app, consent, notify_messages
):
    start = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    created = consent.ask(appointment_id=999_001, appointment_start=start.isoformat())
    step_on(consent_app, outbox.dispatch)
    group = f"consent:{created['id']}:reminders"
    (reminder,) = notify_messages(group=group)
    assert reminder["template"] == "consent_reminder"
    assert reminder["status"] == "scheduled"
    assert reminder["send_at"] == (start - timedelta(hours=24)).isoformat().replace("+00:00", "Z")
    token = created["signing_url"].rsplit("/", 1)[1]
    assert (
        consent_app.test_client().post(f"/api/v1/sign/{token}", json=SIGNATURE).status_code == 200
    )
    step_on(consent_app, outbox.dispatch)
    (reminder,) = notify_messages(group=group)
    assert reminder["status"] == "cancelled"
    cancel = [i for i in outbox_items(consent_app) if i.path.endswith("/cancel")]
    assert cancel[0].path == f"/api/v1/groups/{quote(group, safe=':')}/cancel"
    assert cancel[0].status == "sent"


def test_no_reminder_when_the_appointment_is_less_than_a_day_away(
    consent_app, consent, notify_messages
):
    start = datetime.now(UTC) + timedelta(hours=5)
    created = consent.ask(appointment_id=999_002, appointment_start=start.isoformat())
    step_on(consent_app, outbox.dispatch)
    assert notify_messages(group=f"consent:{created['id']}:reminders") == []


def test_booking_update_for_a_missing_appointment_is_kept_and_retried(consent_app, consent):
    consent.ask(appointment_id=999_003, send=False)
    step_on(consent_app, outbox.dispatch)
    (item,) = outbox_items(consent_app)
    assert item.target == "booking" and item.method == "PUT"
    assert item.path.startswith("/api/v1/appointments/999003/consents/")
    assert item.attempts == 1 and item.status == "pending"
    assert item.last_error.startswith("HTTP 404")
    assert item.next_attempt_at > datetime.now(UTC)


def test_outbox_gives_up_after_many_attempts(consent_app, consent, notify_down):
    consent.ask()
    with shared_db.get_db(consent_app).transaction() as session:
        session.execute(sa.update(OutboxItem).values(attempts=outbox.MAX_ATTEMPTS - 1))
    step_on(consent_app, outbox.dispatch)
    (item,) = outbox_items(consent_app)
    assert item.status == "failed" and item.attempts == outbox.MAX_ATTEMPTS


def test_worker_loop_delivers_and_stops(consent_app, consent, notify_messages):
    import threading

    consent.ask()
    stop = threading.Event()
    worker = threading.Thread(target=WORKERS["consent"].run, args=(consent_app, stop))
    worker.start()
    try:
        for _ in range(100):
            if outbox_items(consent_app)[0].status == "sent":
                break
            stop.wait(0.05)
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()
    assert [m["template"] for m in notify_messages()] == ["consent_request"]


def test_expired_requests_are_marked_and_booking_told(consent_app, consent):
    from services.consent.models import ConsentRequest
    from services.consent.operations.requests import expire_overdue

    created = consent.ask(appointment_id=999_004, send=False)
    with shared_db.get_db(consent_app).transaction() as session:
        session.execute(
            sa.update(ConsentRequest).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    with shared_db.get_db(consent_app).transaction() as session:
        assert expire_overdue(session=session) == 1
    request = consent.get(f"/api/v1/requests/{created['id']}")
    assert request["status"] == "expired"
    booking_updates = [i for i in outbox_items(consent_app) if i.target == "booking"]
    assert len(booking_updates) == 2


# --- through booking ---------------------------------------------------------------------------


def test_booking_sees_consent_status_change_through_the_outbox(consent_app, consent, appointment):
    created = consent.ask(appointment_id=appointment.id, send=False)
    step_on(consent_app, outbox.dispatch)
    status, consents = appointment.consents()
    assert status == "pending"
    assert [(c["request_id"], c["template_id"], c["status"]) for c in consents] == [
        (created["id"], consent.template_id, "pending")
    ]
    token = created["signing_url"].rsplit("/", 1)[1]
    consent_app.test_client().post(f"/api/v1/sign/{token}", json=SIGNATURE)
    step_on(consent_app, outbox.dispatch)
    status, consents = appointment.consents()
    assert consents[0]["status"] == "signed"
    assert consents[0]["form_title"] == "Grabación de la sesión e intercambio de información"
    consent.post(f"/api/v1/requests/{created['id']}/withdraw")
    step_on(consent_app, outbox.dispatch)
    status, consents = appointment.consents()
    assert status == "withdrawn" and consents[0]["status"] == "withdrawn"
    booking_items = [i for i in outbox_items(consent_app) if i.target == "booking"]
    assert all(i.status == "sent" for i in booking_items)


def test_consent_worker_is_registered_for_frontdesk_worker():
    from frontdesk.workers import worker_function

    assert worker_function("consent") == ("consent", WORKERS["consent"].run)


def test_booking_status_update_is_queued_without_a_body_and_sends_the_status_at_delivery(
    consent_app, consent, appointment
):
    created = consent.ask(appointment_id=appointment.id, send=False)
    (queued,) = [i for i in outbox_items(consent_app) if i.target == "booking"]
    assert queued.body is None  # nothing stand-in to swap at claim time
    token = created["signing_url"].rsplit("/", 1)[1]
    consent_app.test_client().post(f"/api/v1/sign/{token}", json=SIGNATURE)
    step_on(consent_app, outbox.dispatch)  # the first update, sent late, already says signed
    _status, consents = appointment.consents()
    assert [c["status"] for c in consents] == ["signed"]


def test_a_message_notify_already_holds_under_the_same_key_counts_as_delivered(
    consent_app, consent, notify_app, make_token, notify_messages
):
    consent.ask()
    (item,) = outbox_items(consent_app)
    # An earlier delivery got through with this key, but its answer was lost and the body has
    # changed since (links are blanked once delivered): notify answers 409 for the reused key.
    response = notify_app.test_client().post(
        "/api/v1/messages",
        json={**item.body, "data": {**item.body["data"], "signing_url": "[delivered]"}},
        headers={
            "Authorization": f"Bearer {make_token('notify', 'admin')}",
            "Idempotency-Key": item.idempotency_key,
        },
    )
    assert response.status_code == 201, response.get_json()
    assert step_on(consent_app, outbox.dispatch) == 1
    (item,) = outbox_items(consent_app)
    assert item.status == "sent"
    assert len(notify_messages()) == 1


def test_outbox_rows_written_before_the_shared_outbox_keep_their_state_and_key(tmp_path):
    from frontdesk import migrations

    url = f"sqlite:///{tmp_path / 'consent.db'}"
    migrations.upgrade("consent", url, "513f58873042")
    engine = sa.create_engine(url)
    then = datetime(2026, 12, 1, tzinfo=UTC)
    insert = sa.text(
        "INSERT INTO outbox_items (target, method, path, attempts, next_attempt_at, "
        "delivered_at, dead_at, created_at) "
        "VALUES ('notify', 'POST', '/api/v1/messages', 1, :at, :delivered, :dead, :at)"
    )
    with engine.begin() as connection:
        for delivered, dead in ((then, None), (None, then), (None, None)):
            connection.execute(insert, {"at": then, "delivered": delivered, "dead": dead})
    migrations.upgrade("consent", url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT id, status, idempotency_key, sent_at FROM outbox_items ORDER BY id")
        ).all()
    engine.dispose()
    assert [(r.status, r.idempotency_key, r.sent_at is not None) for r in rows] == [
        ("sent", "consent-outbox-1", True),
        ("failed", "consent-outbox-2", False),
        ("pending", "consent-outbox-3", False),  # retried with the key it was first sent with
    ]
