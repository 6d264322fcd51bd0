"""Export and erasure of one client across booking, consent and notify, over their REST routes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from privacy_story import EMAIL, NAME, OTHER_EMAIL, OTHER_NAME, OTHER_PHONE, PHONE

from services.booking.models import Appointment
from services.console.operations.privacy import erase_client, export_client
from services.notify.models import Message
from shared import db as shared_db
from shared.http import ServiceCallFailed, ServiceClient

ON_POSTGRESQL = os.environ.get("FRONTDESK_TEST_DATABASE_URL", "").startswith("postgresql")
PERSONAL = (EMAIL, NAME, PHONE, "Portuguese", "Please call me before", "her housing")
# Kept as legal evidence of the signed consent, restricted: the record and its audit trail.
EVIDENCE_TABLES = {"consent_records", "audit_events"}


def table_texts(app, metadata) -> dict[str, str]:
    """Every row of every table of a service, as text (bytes columns skipped)."""
    texts = {}
    with shared_db.get_db(app).engine.connect() as connection:
        for table in metadata.sorted_tables:
            rows = connection.execute(sa.select(table)).mappings().all()
            texts[table.name] = json.dumps(
                [{k: v for k, v in row.items() if not isinstance(v, bytes)} for row in rows],
                default=str,
                ensure_ascii=False,
            )
    return texts


def all_texts(apps) -> dict[str, str]:
    from services.booking import models as booking_models
    from services.consent import models as consent_models
    from services.notify import models as notify_models

    texts = {}
    for name, models in (
        ("booking", booking_models),
        ("consent", consent_models),
        ("notify", notify_models),
    ):
        for table, text in table_texts(apps[name], models.Base.metadata).items():
            texts[f"{name}.{table}"] = text
    return texts


def counts_by_service(booking_app) -> dict[int, int]:
    with shared_db.get_db(booking_app).engine.connect() as connection:
        rows = connection.execute(
            sa.select(Appointment.service_id, sa.func.count()).group_by(Appointment.service_id)
        )
        return dict(rows.all())


def test_export_holds_everything_about_the_client_and_nobody_else(story, privacy_clients):
    exported = export_client(clients=privacy_clients, email=EMAIL)
    booking, consent, notify = (exported["services"][s] for s in ("booking", "consent", "notify"))
    assert [a["id"] for a in booking["appointments"]] == story.appointments[EMAIL]
    first = booking["appointments"][0]
    assert first["client"] == {
        "name": NAME,
        "email": EMAIL,
        "phone": PHONE,
        "language": "en",
        "time_zone": "America/Toronto",
    }
    assert first["accommodations"]["interpreter_language"] == "Portuguese"
    assert first["staff_notes"] == "Talked about her housing"
    assert [e["action"] for e in first["history"]][:1] == ["booked"]
    assert "completed" in [e["action"] for e in first["history"]]
    assert first["consents"][0]["status"] == "signed"
    assert booking["phones"] == [PHONE]
    requests = consent["requests"]
    assert {r["id"] for r in requests} >= {story.consent_request_id}
    signed = next(r for r in requests if r["id"] == story.consent_request_id)
    assert signed["record"]["answers"]["checkboxes"] == {"recording": True}
    assert "signed" in [e["kind"] for e in signed["events"]]
    assert next(e for e in signed["events"] if e["kind"] == "signed")["ip"]
    to_client = notify["messages_to_client"]
    assert to_client and {m["to"] for m in to_client} == {EMAIL}
    about = notify["messages_about_client_to_others"]
    assert {m["template"] for m in about} >= {"booking_staff_notice", "billing_notice"}
    assert all("to" not in m and "subject" not in m for m in about)
    text = json.dumps(exported, ensure_ascii=False)
    for other in (OTHER_EMAIL, OTHER_NAME, OTHER_PHONE, "amira@maple.example"):
        assert other not in text


def test_erase_leaves_nothing_personal_outside_the_kept_evidence(story, apps, privacy_clients):
    before = all_texts(apps)
    assert any(EMAIL in text for text in before.values())
    result = erase_client(clients=privacy_clients, email=EMAIL)
    booking, consent, notify = (result["services"][s] for s in ("booking", "consent", "notify"))
    assert booking["erased"]["appointments_anonymized"] == 2
    assert booking["erased"]["confirmed_appointments_cancelled"] == 1
    assert consent["kept"] == {"consent_records": 1}
    assert "legal evidence" in consent["reasons"]["consent_records"]
    assert notify["erased"]["messages_to_client"] >= 2
    assert notify["erased"]["messages_about_client"] >= 2
    after = all_texts(apps)
    leaks = {
        table: [value for value in PERSONAL if value in text]
        for table, text in after.items()
        if table.split(".", 1)[1] not in EVIDENCE_TABLES
    }
    assert {table: found for table, found in leaks.items() if found} == {}
    again = export_client(clients=privacy_clients, email=EMAIL)["services"]
    for value in PERSONAL:
        assert value not in json.dumps(again, ensure_ascii=False)
    assert again["booking"]["appointments"] == again["consent"]["requests"] == []
    assert again["notify"] == {"messages_to_client": [], "messages_about_client_to_others": []}
    restricted = again["consent"]["restricted_records"]
    assert [r["request_id"] for r in restricted] == [story.consent_request_id]


def test_erase_keeps_other_clients_and_statistics(story, apps, privacy_clients):
    counts = counts_by_service(apps["booking"])
    before_other = export_client(clients=privacy_clients, email=OTHER_EMAIL)
    erase_client(clients=privacy_clients, email=EMAIL)
    assert counts_by_service(apps["booking"]) == counts == {story.service_id: 3}
    with shared_db.get_db(apps["booking"]).transaction() as session:
        mine = session.scalars(
            sa.select(Appointment).where(Appointment.id.in_(story.appointments[EMAIL]))
        ).all()
        assert sorted(a.status for a in mine) == ["cancelled", "completed"]
        completed = next(a for a in mine if a.status == "completed")
        assert completed.outcome == "resolved" and completed.staff_id == story.staff_id
        assert all(a.client_email == "erased" and a.manage_token_hash is None for a in mine)
    after_other = export_client(clients=privacy_clients, email=OTHER_EMAIL)
    for service in ("booking", "consent"):
        assert after_other["services"][service] == before_other["services"][service]
    assert after_other["services"]["notify"]["messages_to_client"]


def test_erased_client_manage_link_is_gone_and_unsent_messages_cancelled(
    story, apps, privacy_clients
):
    booking = apps["booking"].test_client()
    assert booking.get(f"/api/v1/manage/{story.manage_tokens[1]}").status_code == 200
    erase_client(clients=privacy_clients, email=EMAIL)
    for token in story.manage_tokens:
        assert booking.get(f"/api/v1/manage/{token}").status_code == 404
    with shared_db.get_db(apps["notify"]).transaction() as session:
        hashed = session.scalars(
            sa.select(Message).where(Message.recipient.startswith("erased:"))
        ).all()
        assert hashed and all(m.status != "scheduled" for m in hashed)
        assert all(m.text is None and m.html is None and m.data == {} for m in hashed)
        assert len({m.recipient for m in hashed}) == 1  # one address, one pseudonym


def test_restricted_record_downloads_answer_410_with_a_clear_code(
    story, apps, privacy_clients, make_token
):
    consent = apps["consent"].test_client()
    admin = {"Authorization": f"Bearer {story.tokens['consent']}"}
    record_path = f"/api/v1/requests/{story.consent_request_id}"
    download_path = story.download_url.split("/consent", 1)[1]
    assert consent.get(download_path).status_code == 200
    erase_client(clients=privacy_clients, email=EMAIL)
    refused = [
        consent.get(download_path),
        consent.get(f"{record_path}/record.pdf", headers=admin),
        consent.get(f"{record_path}/events", headers=admin),
        consent.post(f"{record_path}/download-links", json={}, headers=admin),
        consent.post(f"{record_path}/withdraw", json={"reason": "x"}, headers=admin),
    ]
    assert [r.status_code for r in refused] == [410] * 5
    assert {r.get_json()["code"] for r in refused} == {"record_restricted"}
    own_staff = {"Authorization": f"Bearer {make_token('consent', 'staff', story.staff_id)}"}
    other_staff = {"Authorization": f"Bearer {make_token('consent', 'staff', story.staff_id + 1)}"}
    assert consent.get(f"{record_path}/record.pdf", headers=own_staff).status_code == 410
    assert consent.get(f"{record_path}/record.pdf", headers=other_staff).status_code == 404
    shown = consent.get(record_path, headers=admin).get_json()
    assert shown["status"] == "signed" and NAME not in json.dumps(shown)


def test_erasure_is_recorded_in_the_intact_audit_chain(story, apps, privacy_clients):
    from services.consent.models import ConsentRecord, ConsentRequest
    from services.consent.operations.audit import verify_chain

    with shared_db.get_db(apps["consent"]).transaction() as session:
        pdf_before = session.scalar(
            sa.select(ConsentRecord.pdf).where(ConsentRecord.request_id == story.consent_request_id)
        )
    erase_client(clients=privacy_clients, email=EMAIL)
    with shared_db.get_db(apps["consent"]).transaction() as session:
        found = session.get(ConsentRequest, story.consent_request_id)
        assert found.events[-1].kind == "erasure_requested"
        assert verify_chain(found.events).intact
        assert found.record.pdf == pdf_before  # a signed PDF is never rewritten


def test_erasing_twice_erases_nothing_more(story, privacy_clients):
    erase_client(clients=privacy_clients, email=EMAIL)
    second = erase_client(clients=privacy_clients, email=EMAIL)
    for service in ("booking", "consent", "notify"):
        assert not any(second["services"][service]["erased"].values()), service


@pytest.mark.parametrize("service", ["booking", "consent", "notify"])
@pytest.mark.parametrize("action", ["export", "erase"])
def test_privacy_routes_need_an_admin_or_service_token(apps, make_token, service, action):
    client = apps[service].test_client()
    path = f"/api/v1/privacy/clients/{action}"
    body = {"email": EMAIL}
    assert client.post(path, json=body).status_code == 401
    staff = {"Authorization": f"Bearer {make_token(service, 'staff', staff_id=1)}"}
    assert client.post(path, json=body, headers=staff).status_code == 403
    admin = {"Authorization": f"Bearer {make_token(service)}"}
    answer = client.post(path, json=body, headers=admin)
    assert answer.status_code == 200 and answer.get_json()["service"] == service
    invalid = client.post(path, json={"email": "not-an-address"}, headers=admin)
    assert invalid.status_code == 422


def test_erasure_interrupted_by_notify_being_down_can_simply_be_retried(
    story, apps, privacy_clients
):
    down = {**privacy_clients, "notify": ServiceClient("http://127.0.0.1:9", token="x", retries=0)}
    with pytest.raises(ServiceCallFailed):
        erase_client(clients=down, email=EMAIL)
    still = export_client(clients=privacy_clients, email=EMAIL)["services"]
    assert len(still["booking"]["appointments"]) == 2  # nothing erased before notify answered
    result = erase_client(clients=privacy_clients, email=EMAIL)
    assert result["services"]["notify"]["erased"]["messages_to_client"] >= 2
    assert result["services"]["booking"]["erased"]["appointments_anonymized"] == 2


def sqlite_file_bytes(app) -> bytes:
    """The raw bytes of a service's SQLite database file and its WAL."""
    path = Path(sa.make_url(shared_db.get_db(app).url).database)
    return b"".join(
        candidate.read_bytes()
        for candidate in (path, path.with_name(path.name + "-wal"))
        if candidate.exists()
    )


@pytest.mark.skipif(
    ON_POSTGRESQL,
    reason="SQLite files; on PostgreSQL VACUUM reclaims dead rows (README)",
)
def test_erased_client_is_in_neither_the_sqlite_files_nor_their_wal(story, apps, privacy_clients):
    before = {name: sqlite_file_bytes(apps[name]) for name in ("booking", "notify")}
    assert all(EMAIL.encode() in raw for raw in before.values())
    erase_client(clients=privacy_clients, email=EMAIL)
    for name in ("booking", "notify"):
        raw = sqlite_file_bytes(apps[name])
        found = [value for value in (EMAIL, NAME, PHONE) if value.encode() in raw]
        assert found == [], f"{name}: {found} still readable in the files"
