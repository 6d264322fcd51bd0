"""The consent HTTP API: forms, requests (CONTRACTS.md), signing by link, verbal, downloads, verify."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from consent_builders import form_content
from consent_validators import pdfsig, pdftotext

from services.consent.models import ConsentRequest, DownloadLink, OutboxItem
from services.consent.operations import requests
from shared import db as shared_db

GOOD_SIGNATURE = {
    "typed_name": "Ana López",
    "disclosure_accepted": True,
    "checkboxes": {"recording": True, "sharing": True},
    "fields": {"pronouns": "she/her"},
    "timezone": "America/Toronto",
}


@pytest.fixture
def client(consent_app):
    return consent_app.test_client()


@pytest.fixture
def admin(make_token):
    return {"Authorization": f"Bearer {make_token('consent', 'admin')}"}


@pytest.fixture
def service(make_token):
    return {"Authorization": f"Bearer {make_token('consent', 'service')}"}


@pytest.fixture
def template_id(client, admin):
    response = client.post(
        "/api/v1/templates", json={"name": "Recording", **form_content()}, headers=admin
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


@pytest.fixture
def ask(client, service, template_id):
    """ask(**overrides) -> the POST /requests answer (201)."""

    def make(**overrides):
        body = {
            "template_id": template_id,
            "client_name": "Ana López",
            "client_email": "ana@example.org",
            "locale": "fr",
            "timezone": "America/Toronto",
            "send": False,
        }
        body.update(overrides)
        response = client.post("/api/v1/requests", json=body, headers=service)
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()

    return make


def token_of(created: dict) -> str:
    return created["signing_url"].rsplit("/", 1)[1]


# --- forms ------------------------------------------------------------------------------------


def test_every_locale_must_label_every_checkbox(client, admin):
    content = form_content()
    del content["locales"]["fr"]["checkboxes"]["sharing"]
    response = client.post("/api/v1/templates", json={"name": "x", **content}, headers=admin)
    assert response.status_code == 422
    assert "locales.fr.checkboxes" in response.get_json()["errors"]


def test_markdown_body_is_rendered_and_sanitized(client, admin):
    content = form_content()
    content["locales"]["en"]["body"] = (
        "**Bold** <script>alert(1)</script> [x](javascript:alert(1)) [ok](https://example.org)"
    )
    response = client.post("/api/v1/templates", json={"name": "x", **content}, headers=admin)
    html = response.get_json()["current_version"]["body_html"]["en"]
    assert "<strong>Bold</strong>" in html
    assert "<script" not in html and 'href="javascript' not in html
    assert 'href="https://example.org"' in html


def test_a_preview_is_checked_and_rendered_and_stores_nothing(client, admin):
    content = form_content()
    content["locales"]["en"]["body"] = "**Bold** <script>alert(1)</script>"
    before = client.get("/api/v1/templates", headers=admin).get_json()
    response = client.post("/api/v1/templates/preview", json=content, headers=admin)
    assert response.status_code == 200
    html = response.get_json()["body_html"]["en"]
    assert "<strong>Bold</strong>" in html and "<script" not in html
    assert set(response.get_json()["body_html"]) == set(content["locales"])
    assert client.get("/api/v1/templates", headers=admin).get_json() == before
    del content["locales"]["fr"]["checkboxes"]["sharing"]
    wrong = client.post("/api/v1/templates/preview", json=content, headers=admin)
    assert wrong.status_code == 422 and "locales.fr.checkboxes" in wrong.get_json()["errors"]


def test_publishing_a_version_adds_one_and_keeps_the_old(client, admin, template_id):
    first = client.get(f"/api/v1/templates/{template_id}", headers=admin).get_json()
    content = form_content(validity_days=30)
    response = client.post(f"/api/v1/templates/{template_id}/versions", json=content, headers=admin)
    assert response.status_code == 201
    assert response.get_json()["number"] == 2
    versions = client.get(f"/api/v1/templates/{template_id}/versions", headers=admin).get_json()
    assert [v["number"] for v in versions] == [1, 2]
    assert versions[0]["content_sha256"] == first["current_version"]["content_sha256"]
    assert versions[1]["content_sha256"] != versions[0]["content_sha256"]


def test_archived_template_takes_no_new_requests(client, admin, service, template_id):
    assert client.delete(f"/api/v1/templates/{template_id}", headers=admin).status_code == 204
    response = client.post(
        "/api/v1/requests",
        json={"template_id": template_id, "client_name": "A", "client_email": "a@example.org"},
        headers=service,
    )
    assert response.status_code == 409
    assert response.get_json()["code"] == "template_archived"


def test_staff_cannot_create_templates(client, make_token):
    staff = {"Authorization": f"Bearer {make_token('consent', 'staff', staff_id=3)}"}
    response = client.post("/api/v1/templates", json={"name": "x", **form_content()}, headers=staff)
    assert response.status_code == 403


# --- requests (contract) ------------------------------------------------------------------------


def test_create_request_answers_the_contract(ask, template_id):
    created = ask(appointment_id=42)
    assert created["status"] == "pending"
    assert created["template_id"] == template_id
    assert created["template_version"] == 1
    assert created["form_title"] == "Enregistrement de la séance et partage d'informations"
    assert created["signing_url"].startswith("http://frontdesk.test/consent/sign/fdc_")
    assert created["appointment_id"] == 42
    assert created["expires_at"].endswith("Z")
    assert created["reused"] is False


def test_still_valid_signed_consent_is_reused(client, ask):
    created = ask()
    assert client.post(f"/api/v1/sign/{token_of(created)}", json=GOOD_SIGNATURE).status_code == 200
    again = ask(client_email="ANA@example.org")
    assert again["id"] == created["id"]
    assert again["status"] == "signed"
    assert again["reused"] is True
    assert "signing_url" not in again


def test_withdrawn_consent_is_not_reused(client, ask):
    created = ask()
    token = token_of(created)
    client.post(f"/api/v1/sign/{token}", json=GOOD_SIGNATURE)
    assert client.post(f"/api/v1/sign/{token}/withdraw", json={}).status_code == 200
    again = ask()
    assert again["id"] != created["id"] and again["reused"] is False


def test_same_idempotency_key_replays_the_same_request_and_link(client, service, template_id):
    body = {"template_id": template_id, "client_name": "Ana", "client_email": "ana@example.org"}
    headers = {**service, "Idempotency-Key": "booking-appt-7-form-1"}
    first = client.post("/api/v1/requests", json=body, headers=headers)
    second = client.post("/api/v1/requests", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json()["signing_url"] == second.get_json()["signing_url"]
    other = client.post("/api/v1/requests", json={**body, "client_name": "Bo"}, headers=headers)
    assert other.status_code == 409 and other.get_json()["code"] == "idempotency_key_reused"


def test_another_callers_idempotency_key_never_replays_their_request(
    client, make_token, template_id
):
    """Staff member 8 sending staff member 7's key and body gets a request of their own, not
    7's (nor a 409 that tells the key was used)."""
    body = {"template_id": template_id, "client_name": "A", "client_email": "a@example.org"}
    answers, tokens = {}, {}
    for staff_id in (7, 8):
        tokens[staff_id] = {
            "Authorization": f"Bearer {make_token('consent', 'staff', staff_id=staff_id)}"
        }
        headers = {**tokens[staff_id], "Idempotency-Key": "ask-a-once"}
        answers[staff_id] = client.post("/api/v1/requests", json=body, headers=headers)
    assert answers[7].status_code == answers[8].status_code == 201
    assert answers[7].get_json()["id"] != answers[8].get_json()["id"]
    own = client.get(f"/api/v1/requests/{answers[8].get_json()['id']}", headers=tokens[8])
    assert own.status_code == 200


def test_requests_listed_by_appointment(client, service, ask):
    first = ask(appointment_id=7)
    ask(appointment_id=8, client_email="bo@example.org")
    listed = client.get("/api/v1/requests?appointment_id=7", headers=service).get_json()
    assert [r["id"] for r in listed] == [first["id"]]
    one = client.get(f"/api/v1/requests/{first['id']}", headers=service).get_json()
    assert one["status"] == "pending" and "signing_url" not in one


def test_staff_see_only_their_own_requests(client, make_token, template_id):
    mine = {"Authorization": f"Bearer {make_token('consent', 'staff', staff_id=7)}"}
    theirs = {"Authorization": f"Bearer {make_token('consent', 'staff', staff_id=8)}"}
    body = {
        "template_id": template_id,
        "client_name": "A",
        "client_email": "a@example.org",
        "send": False,
    }
    created = client.post("/api/v1/requests", json=body, headers=mine).get_json()
    assert created["id"]
    assert client.get(f"/api/v1/requests/{created['id']}", headers=mine).status_code == 200
    assert client.get(f"/api/v1/requests/{created['id']}", headers=theirs).status_code == 404
    assert client.get("/api/v1/requests", headers=theirs).get_json() == []


def test_staff_creating_a_request_never_get_the_clients_signing_link(
    client, make_token, template_id
):
    """The signing link is the client's (whoever holds it signs as the client): a staff token's
    create and its replay answer without it; the service (booking, which mails it) gets it."""
    staff = {
        "Authorization": f"Bearer {make_token('consent', 'staff', staff_id=7)}",
        "Idempotency-Key": "staff-7-ask-1",
    }
    body = {"template_id": template_id, "client_name": "A", "client_email": "a@example.org"}
    for expected in (201, 200):
        response = client.post("/api/v1/requests", json=body | {"send": False}, headers=staff)
        assert response.status_code == expected, response.get_json()
        assert "signing_url" not in response.get_json()
        assert "/consent/sign/" not in response.get_data(as_text=True)


def test_staff_have_the_signing_link_sent_to_the_client_again(
    client, consent_app, make_token, template_id
):
    """Instead of the link, staff get "resend": the client is emailed the same link again."""
    staff = {"Authorization": f"Bearer {make_token('consent', 'staff', staff_id=7)}"}
    body = {"template_id": template_id, "client_name": "A", "client_email": "a@example.org"}
    created = client.post("/api/v1/requests", json=body | {"send": False}, headers=staff)
    request_id = created.get_json()["id"]

    resent = client.post(f"/api/v1/requests/{request_id}/resend", headers=staff)

    assert resent.status_code == 202, resent.get_json()
    assert resent.get_json()["id"] == request_id and "signing_url" not in resent.get_json()
    with shared_db.get_db(consent_app).transaction() as session:
        [item] = session.scalars(sa.select(OutboxItem).where(OutboxItem.request_id == request_id))
        salt = session.get(ConsentRequest, request_id).token_salt
        assert item.target == "notify" and item.body["to"] == "a@example.org"
        assert item.body["template"] == "consent_request"
        link = item.body["data"]["signing_url"]
    assert link.endswith("/consent/sign/" + requests._signing_token("test-secret", salt))
    events = client.get(f"/api/v1/requests/{request_id}/events", headers=staff).get_json()
    assert [e["kind"] for e in events["events"]] == ["created", "link_resent"]
    assert client.get(f"/api/v1/sign/{link.rsplit('/', 1)[1]}").status_code == 200


def test_resending_a_link_that_cannot_be_used_is_refused(client, consent_app, service, ask):
    signed = ask()
    assert client.post(f"/api/v1/sign/{token_of(signed)}", json=GOOD_SIGNATURE).status_code == 200
    expired = ask(client_email="bo@example.org")
    with shared_db.get_db(consent_app).transaction() as session:
        session.execute(
            sa.update(ConsentRequest)
            .where(ConsentRequest.id == expired["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    for request_id, status, code in (
        (signed["id"], 409, "already_signed"),
        (expired["id"], 410, "signing_link_expired"),
    ):
        response = client.post(f"/api/v1/requests/{request_id}/resend", headers=service)
        assert response.status_code == status and response.get_json()["code"] == code


def test_bad_request_fields_are_422(client, service, template_id):
    response = client.post(
        "/api/v1/requests",
        json={
            "template_id": template_id,
            "client_name": "A",
            "client_email": "not-an-email",
            "client_phone": "12",
            "locale": "de",
            "timezone": "Mars/Olympus",
        },
        headers=service,
    )
    assert response.status_code == 422
    assert {"client_email", "client_phone", "locale", "timezone"} <= set(
        response.get_json()["errors"]
    )


def test_unknown_template_is_404(client, service):
    response = client.post(
        "/api/v1/requests",
        json={"template_id": 999, "client_name": "A", "client_email": "a@example.org"},
        headers=service,
    )
    assert response.status_code == 404 and response.get_json()["code"] == "template_not_found"


# --- signing by link --------------------------------------------------------------------------


def test_form_is_shown_in_the_clients_language_and_viewing_is_audited(client, service, ask):
    created = ask()
    token = token_of(created)
    form = client.get(f"/api/v1/sign/{token}").get_json()
    assert form["locale"] == "fr"
    assert form["title"].startswith("Enregistrement")
    assert [b["key"] for b in form["checkboxes"]] == ["recording", "sharing"]
    assert all(b["required"] for b in form["checkboxes"])
    assert form["disclosure"]
    spanish = client.get(f"/api/v1/sign/{token}?locale=es").get_json()
    assert spanish["title"].startswith("Grabación")
    trail = client.get(f"/api/v1/requests/{created['id']}/events", headers=service).get_json()
    assert [e["kind"] for e in trail["events"]] == ["created", "viewed"]
    assert trail["chain_intact"] is True


def test_sign_by_link_returns_a_download_link(client, ask):
    token = token_of(ask())
    response = client.post(f"/api/v1/sign/{token}", json=GOOD_SIGNATURE)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "signed"
    assert body["download_url"].startswith("http://frontdesk.test/consent/records/fdr_")
    assert body["download_url"].endswith(".pdf")
    expires = datetime.fromisoformat(body["download_expires_at"].replace("Z", "+00:00"))
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)


def test_missing_required_checkbox_is_422_naming_it(client, ask):
    token = token_of(ask())
    response = client.post(
        f"/api/v1/sign/{token}",
        json={**GOOD_SIGNATURE, "checkboxes": {"recording": True}},
    )
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["code"] == "required_checkboxes_missing"
    assert list(problem["errors"]) == ["checkboxes.sharing"]
    assert "sharing" in problem["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"typed_name": ""}, "typed_name"),
        ({"typed_name": "   "}, "typed_name"),
        ({"disclosure_accepted": False}, "disclosure_accepted"),
        ({"checkboxes": {"recording": True, "sharing": True, "extra": True}}, "checkboxes.extra"),
        ({"fields": {"pronouns": "x" * 51}}, "fields.pronouns"),
        ({"signature_image": "data:text/html;base64,PGgxPg=="}, "signature_image"),
    ],
)
def test_bad_signature_input_is_422(client, ask, change, field):
    token = token_of(ask())
    payload = {**GOOD_SIGNATURE, **change}
    if payload["typed_name"] == "":
        payload.pop("typed_name")
    response = client.post(f"/api/v1/sign/{token}", json=payload)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_signing_twice_is_409(client, ask):
    token = token_of(ask())
    assert client.post(f"/api/v1/sign/{token}", json=GOOD_SIGNATURE).status_code == 200
    second = client.post(f"/api/v1/sign/{token}", json=GOOD_SIGNATURE)
    assert second.status_code == 409 and second.get_json()["code"] == "already_signed"


def test_unknown_token_is_404(client):
    response = client.get("/api/v1/sign/fdc_" + "x" * 43)
    assert response.status_code == 404
    assert response.get_json()["code"] == "signing_link_unknown"


def test_expired_token_is_410(client, consent_app, ask):
    created = ask()
    with shared_db.get_db(consent_app).transaction() as session:
        session.execute(
            sa.update(ConsentRequest)
            .where(ConsentRequest.id == created["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    for response in (
        client.get(f"/api/v1/sign/{token_of(created)}"),
        client.post(f"/api/v1/sign/{token_of(created)}", json=GOOD_SIGNATURE),
    ):
        assert response.status_code == 410
        assert response.get_json()["code"] == "signing_link_expired"


def test_declined_link_is_used_up(client, service, ask):
    created = ask()
    token = token_of(created)
    response = client.post(f"/api/v1/sign/{token}/decline", json={"reason": "No recording"})
    assert response.status_code == 200 and response.get_json()["status"] == "declined"
    assert client.get(f"/api/v1/sign/{token}").get_json()["code"] == "signing_link_used"
    assert client.post(f"/api/v1/sign/{token}", json=GOOD_SIGNATURE).status_code == 410
    one = client.get(f"/api/v1/requests/{created['id']}", headers=service).get_json()
    assert one["status"] == "declined"


def test_client_withdraws_from_their_link(client, service, ask, tmp_path):
    created = ask()
    token = token_of(created)
    client.post(f"/api/v1/sign/{token}", json=GOOD_SIGNATURE)
    form = client.get(f"/api/v1/sign/{token}").get_json()
    assert form["status"] == "signed"  # the page offers withdrawal
    response = client.post(f"/api/v1/sign/{token}/withdraw", json={"reason": "Changed my mind"})
    assert response.status_code == 200 and response.get_json()["status"] == "withdrawn"
    pdf = client.get(f"/api/v1/requests/{created['id']}/record.pdf", headers=service).data
    path = tmp_path / "w.pdf"
    path.write_bytes(pdf)
    assert pdfsig(path).count("Signature is Valid.") == 2
    assert client.post(f"/api/v1/sign/{token}/withdraw", json={}).status_code == 410


def test_staff_withdraws_on_the_clients_behalf(client, make_token, ask):
    staff = {"Authorization": f"Bearer {make_token('consent', 'staff', staff_id=5)}"}
    created = ask(staff_id=5)
    client.post(f"/api/v1/sign/{token_of(created)}", json=GOOD_SIGNATURE)
    response = client.post(
        f"/api/v1/requests/{created['id']}/withdraw", json={"reason": "By phone"}, headers=staff
    )
    assert response.status_code == 200
    assert response.get_json()["status"] == "withdrawn"
    assert response.get_json()["withdrawn_at"]
    again = client.post(f"/api/v1/requests/{created['id']}/withdraw", json={}, headers=staff)
    assert again.status_code == 409 and again.get_json()["code"] == "not_signed"


# --- verbal -----------------------------------------------------------------------------------


def test_verbal_consent_becomes_a_signed_record_marked_verbal(
    client, make_token, template_id, tmp_path
):
    staff = {"Authorization": f"Bearer {make_token('consent', 'staff', staff_id=2)}"}
    response = client.post(
        "/api/v1/verbal",
        json={
            "template_id": template_id,
            "client_name": "Bo Chen",
            "client_email": "bo@example.org",
            "explained": "Recording of the session, kept 12 months, never shared",
            "explained_by": "Amira Haddad",
            "explained_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
            "witness": "Diego Ruiz",
        },
        headers=staff,
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "signed" and body["verbal"] is True and body["staff_id"] == 2
    pdf = client.get(f"/api/v1/requests/{body['id']}/record.pdf", headers=staff).data
    path = tmp_path / "v.pdf"
    path.write_bytes(pdf)
    text = pdftotext(path)
    assert "Verbal consent" in text and "Amira Haddad" in text and "Diego Ruiz" in text
    assert "verbal_attested" in text
    assert "Total document signed" in pdfsig(path)


def test_verbal_consent_in_the_future_is_422(client, admin, template_id):
    response = client.post(
        "/api/v1/verbal",
        json={
            "template_id": template_id,
            "client_name": "Bo",
            "client_email": "bo@example.org",
            "explained": "x",
            "explained_by": "Amira",
            "explained_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        },
        headers=admin,
    )
    assert response.status_code == 422 and "explained_at" in response.get_json()["errors"]


# --- downloads --------------------------------------------------------------------------------


def test_record_downloads_by_expiring_link_and_is_audited(client, consent_app, service, ask):
    created = ask()
    signed = client.post(f"/api/v1/sign/{token_of(created)}", json=GOOD_SIGNATURE).get_json()
    path = signed["download_url"].removeprefix("http://frontdesk.test/consent")
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.data.startswith(b"%PDF-")
    trail = client.get(f"/api/v1/requests/{created['id']}/events", headers=service).get_json()
    assert trail["events"][-1]["kind"] == "downloaded"
    with shared_db.get_db(consent_app).transaction() as session:
        session.execute(
            sa.update(DownloadLink).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    expired = client.get(path)
    assert expired.status_code == 410 and expired.get_json()["code"] == "download_link_expired"
    assert client.get("/records/fdr_" + "y" * 43 + ".pdf").status_code == 404


def test_record_needs_a_token_or_a_link(client, ask):
    created = ask()
    client.post(f"/api/v1/sign/{token_of(created)}", json=GOOD_SIGNATURE)
    assert client.get(f"/api/v1/requests/{created['id']}/record.pdf").status_code == 401


def test_staff_make_a_new_download_link(client, service, ask):
    created = ask()
    client.post(f"/api/v1/sign/{token_of(created)}", json=GOOD_SIGNATURE)
    response = client.post(
        f"/api/v1/requests/{created['id']}/download-links", json={"days": 2}, headers=service
    )
    assert response.status_code == 201
    url = response.get_json()["url"]
    assert client.get(url.removeprefix("http://frontdesk.test/consent")).status_code == 200


def test_unsigned_request_has_no_record(client, service, ask):
    created = ask()
    response = client.get(f"/api/v1/requests/{created['id']}/record.pdf", headers=service)
    assert response.status_code == 404 and response.get_json()["code"] == "record_not_found"


# --- verification -----------------------------------------------------------------------------


@pytest.fixture
def signed_pdf(client, service, ask):
    created = ask()
    client.post(f"/api/v1/sign/{token_of(created)}", json=GOOD_SIGNATURE)
    pdf = client.get(f"/api/v1/requests/{created['id']}/record.pdf", headers=service).data
    return created, pdf


def test_verify_accepts_a_good_record_as_pdf_body(client, signed_pdf):
    created, pdf = signed_pdf
    response = client.post("/api/v1/verify", data=pdf, content_type="application/pdf")
    assert response.status_code == 200
    verdict = response.get_json()
    assert verdict["valid"] is True and verdict["reason"] is None
    assert verdict["request_id"] == created["id"] and verdict["status"] == "signed"
    assert verdict["signatures"][0]["covers_whole_file"] is True
    assert verdict["signatures"][0]["trusted"] is True


def test_verify_accepts_multipart_upload(client, signed_pdf):
    _created, pdf = signed_pdf
    response = client.post(
        "/api/v1/verify",
        data={"file": (io.BytesIO(pdf), "record.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200 and response.get_json()["valid"] is True


def test_verify_finds_a_changed_byte(client, signed_pdf):
    _created, pdf = signed_pdf
    tampered = bytearray(pdf)
    position = tampered.index(b"/Type /Page") + 2
    tampered[position] ^= 0x01
    verdict = client.post("/api/v1/verify", data=bytes(tampered), content_type="application/pdf")
    assert verdict.status_code == 200
    body = verdict.get_json()
    assert body["valid"] is False
    assert "changed after signing" in body["reason"]


def test_verify_finds_content_appended_after_signing(client, signed_pdf):
    _created, pdf = signed_pdf
    verdict = client.post(
        "/api/v1/verify", data=pdf + b"\n% appended\n", content_type="application/pdf"
    ).get_json()
    assert verdict["valid"] is False
    assert "whole file" in verdict["reason"]
    assert verdict["request_id"] is not None  # still identified by its signed revision


@pytest.mark.parametrize(
    "junk", [b"hello", b"%PDF-1.7\n garbage", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"]
)
def test_verify_never_fails_on_junk(client, junk):
    response = client.post("/api/v1/verify", data=junk, content_type="application/pdf")
    assert response.status_code == 200
    assert response.get_json()["valid"] is False and response.get_json()["reason"]


def test_verify_accepts_the_withdrawn_record_with_both_signatures(client, service, signed_pdf):
    created, original = signed_pdf
    client.post(f"/api/v1/requests/{created['id']}/withdraw", json={}, headers=service)
    pdf = client.get(f"/api/v1/requests/{created['id']}/record.pdf", headers=service).data
    verdict = client.post("/api/v1/verify", data=pdf, content_type="application/pdf").get_json()
    assert verdict["valid"] is True and verdict["status"] == "withdrawn"
    assert len(verdict["signatures"]) == 2
    # The copy the client downloaded before withdrawing still verifies and is identified.
    before = client.post("/api/v1/verify", data=original, content_type="application/pdf").get_json()
    assert before["valid"] is True and before["request_id"] == created["id"]


def test_verify_says_a_downloaded_copy_of_a_since_withdrawn_record_is_not_in_force(
    client, service, signed_pdf
):
    created, original = signed_pdf
    client.post(f"/api/v1/requests/{created['id']}/withdraw", json={}, headers=service)
    current = client.get(f"/api/v1/requests/{created['id']}/record.pdf", headers=service).data
    verdict = client.post("/api/v1/verify", data=original, content_type="application/pdf")
    body = verdict.get_json()
    assert body["authentic"] is True and body["valid"] is True
    assert body["in_force"] is False and "withdrawn" in body["in_force_reason"]
    assert body["withdrawn_at"].endswith("Z")
    assert body["current_revision"] is False and "earlier revision" in body["revision_note"]
    assert body["pdf_sha256"] == hashlib.sha256(current).hexdigest()
    assert body["evidence_sha256"] == body["document_sha256"]
    assert [s["valid"] for s in body["signatures"]] == [True]


def test_signing_and_request_answers_name_the_evidence_hash_and_give_the_pdf_hash(
    client, service, ask
):
    created = ask()
    signed = client.post(f"/api/v1/sign/{token_of(created)}", json=GOOD_SIGNATURE).get_json()
    pdf = client.get(f"/api/v1/requests/{created['id']}/record.pdf", headers=service).data
    shown = client.get(f"/api/v1/requests/{created['id']}", headers=service).get_json()
    for body in (signed, shown):
        assert body["pdf_sha256"] == hashlib.sha256(pdf).hexdigest()
        assert body["evidence_sha256"] == body["document_sha256"] != body["pdf_sha256"]


def test_openapi_documents_the_verdict_and_marks_the_old_names_deprecated(client):
    spec = client.get("/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    verdict = schemas["Verification"]["properties"]
    for name in ("authentic", "in_force", "in_force_reason", "current_revision", "pdf_sha256"):
        assert verdict[name].get("description"), name
    assert verdict["valid"]["deprecated"] is True
    assert verdict["document_sha256"]["deprecated"] is True
    assert "evidence.json" in verdict["evidence_sha256"]["description"]
    signature = schemas["SignatureCheck"]["properties"]
    assert "intact" in signature["valid"]["description"]
    assert schemas["Signed"]["properties"]["document_sha256"]["deprecated"] is True


def test_verify_rejects_other_body_types(client):
    response = client.post("/api/v1/verify", data=b"x", content_type="image/png")
    assert response.status_code == 415


def test_signing_root_is_published_as_pem_and_der(client, settings):
    pem = client.get("/api/v1/signing-root.pem")
    assert pem.status_code == 200 and pem.data == settings.signer().root_pem
    assert pem.data.startswith(b"-----BEGIN CERTIFICATE-----")
    der = client.get("/api/v1/signing-root.pem?format=der")
    assert der.mimetype == "application/pkix-cert" and der.data[:1] == b"\x30"


def test_two_simultaneous_signatures_give_one_record_and_one_409(client, consent_app, ask):
    import threading

    token = token_of(ask())
    statuses = []
    barrier = threading.Barrier(2)

    def submit():
        own = consent_app.test_client()
        barrier.wait()
        statuses.append(own.post(f"/api/v1/sign/{token}", json=GOOD_SIGNATURE).status_code)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200, 409]


def test_failing_timestamp_service_fails_loudly_and_keeps_the_request_pending(
    client, consent_app, service, ask
):
    created = ask()
    consent_app.config["TSA_URL"] = "http://127.0.0.1:9/tsa"
    try:
        response = client.post(f"/api/v1/sign/{token_of(created)}", json=GOOD_SIGNATURE)
    finally:
        consent_app.config["TSA_URL"] = None
    assert response.status_code == 503
    assert "timestamp service failed" in response.get_json()["detail"]
    one = client.get(f"/api/v1/requests/{created['id']}", headers=service).get_json()
    assert one["status"] == "pending" and one["signed_at"] is None


def test_signing_with_several_problems_names_every_one_in_one_422(client, ask):
    token = token_of(ask())
    response = client.post(
        f"/api/v1/sign/{token}",
        json={
            **GOOD_SIGNATURE,
            "typed_name": "   ",
            "disclosure_accepted": False,
            "checkboxes": {"recording": True},
            "fields": {"pronouns": "x" * 51},
        },
    )
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["code"] == "validation_failed"
    assert set(problem["errors"]) == {
        "typed_name",
        "disclosure_accepted",
        "checkboxes.sharing",
        "fields.pronouns",
    }
