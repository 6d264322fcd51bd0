"""A form without the client's language falls back to the organization's default language
(booking's profile), then to the form's own: on the signing page, in the PDF record, in the
messages consent sends, and wherever staff see the form named (the API, booking's appointment,
the privacy export). A form may be published without English."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from consent_builders import ORIGIN, form_content
from consent_validators import pdftotext
from markupsafe import escape

from services.consent import outbox
from services.consent.models import OutboxItem
from services.consent.operations import forms, records, requests
from shared import db as shared_db
from shared.organization import ORGANIZATION_SOURCE
from shared.workers import step_on

HTML = {"Accept": "text/html"}
FRENCH_TITLE = "Enregistrement de la séance et partage d'informations"
SPANISH_TITLE = "Grabación de la sesión e intercambio de información"


def _profile(booking_app, consent_app, make_token, language: str) -> None:
    headers = {"Authorization": f"Bearer {make_token('booking', 'admin')}"}
    body = {"name": "Maple Community Services", "default_language": language}
    response = booking_app.test_client().put("/api/v1/organization", json=body, headers=headers)
    assert response.status_code == 200
    consent_app.extensions[ORGANIZATION_SOURCE].forget()


@pytest.fixture
def french_org(booking_app, consent_app, make_token):
    _profile(booking_app, consent_app, make_token, "fr")
    yield
    consent_app.extensions[ORGANIZATION_SOURCE].forget()


@pytest.fixture
def client_api(consent_app):
    return consent_app.test_client()


@pytest.fixture
def admin_headers(make_token):
    return {"Authorization": f"Bearer {make_token('consent', 'admin')}"}


@pytest.fixture
def settings(consent_app) -> records.RecordSettings:
    return records.RecordSettings.from_config(
        consent_app.config, org_source=consent_app.extensions[ORGANIZATION_SOURCE]
    )


def _content(*languages: str) -> dict:
    content = form_content()
    content["locales"] = {k: v for k, v in content["locales"].items() if k in languages}
    return content


def _create(consent_app, settings, content: dict, *, locale: str | None = "ar"):
    with shared_db.get_db(consent_app).transaction() as session:
        template = forms.create_template(session=session, name="Recording", content=content)
        created = requests.create_request(
            session=session,
            template=template,
            client={
                "client_name": "Amal Haddad",
                "client_email": "amal@example.org",
                "client_phone": None,
                "locale": locale,
                "timezone": "America/Toronto",
            },
            settings=settings,
            send=True,
            origin=ORIGIN,
        )
        return created.request.id, created.signing_url.rsplit("/", 1)[1]


@pytest.mark.parametrize("languages", [("fr", "es"), ("en", "fr")])
def test_an_arabic_client_sees_a_form_they_lack_in_the_organizations_french(
    consent_app, french_org, settings, languages
):
    _id, token = _create(consent_app, settings, _content(*languages))
    page = consent_app.test_client().get(f"/sign/{token}", headers=HTML).get_data(as_text=True)
    assert '<html lang="ar"' in page
    assert f'<h1 lang="fr">{escape(FRENCH_TITLE)}</h1>' in page
    assert "J&#39;accepte l&#39;enregistrement" in page
    assert "Session recording" not in page and SPANISH_TITLE not in page
    assert "يُعرض بلغة أخرى" in page


def test_the_signed_record_of_an_arabic_client_is_in_the_organizations_french(
    consent_app, french_org, settings, tmp_path
):
    _id, token = _create(consent_app, settings, _content("fr", "es"))
    with shared_db.get_db(consent_app).transaction() as session:
        signed = requests.sign(
            session=session,
            token=token,
            settings=settings,
            origin=ORIGIN,
            typed_name="Amal Haddad",
            disclosure_accepted=True,
            checkboxes={"recording": True, "sharing": True},
            fields={"pronouns": "elle"},
        )
        path = tmp_path / "record.pdf"
        path.write_bytes(signed.record.pdf)
    text = pdftotext(path)
    assert "Preuve de consentement" in text  # the record's labels: French too
    assert "Enregistrement de la séance" in text
    assert "Pronoms" in text
    assert "Session recording" not in text and SPANISH_TITLE not in text


def test_the_signing_link_message_names_the_form_in_the_organizations_french(
    consent_app, french_org, settings
):
    request_id, _token = _create(consent_app, settings, _content("fr", "es"))
    with shared_db.get_db(consent_app).transaction() as session:
        [item] = session.scalars(
            sa.select(OutboxItem).where(
                OutboxItem.request_id == request_id, OutboxItem.target == "notify"
            )
        ).all()
        assert item.body["locale"] == "ar"
        assert item.body["data"]["form_title"] == FRENCH_TITLE


def test_a_client_without_a_language_is_asked_in_the_organizations_default(
    consent_app, french_org, settings
):
    _id, token = _create(consent_app, settings, _content("en", "fr"), locale=None)
    page = consent_app.test_client().get(f"/sign/{token}", headers=HTML).get_data(as_text=True)
    assert '<html lang="fr"' in page and "<h1>Enregistrement de la séance" in page


def test_a_form_lacking_both_languages_shows_its_own_never_a_blank_one(
    consent_app, french_org, settings
):
    _id, token = _create(consent_app, settings, _content("es"))
    page = consent_app.test_client().get(f"/sign/{token}", headers=HTML).get_data(as_text=True)
    assert f'<h1 lang="es">{SPANISH_TITLE}</h1>' in page
    assert "Acepto la grabación" in page


# --- the form as staff see it named ------------------------------------------------------------

# French only, or English and French: neither has the client's Spanish; the organization's is French.
NO_SPANISH = pytest.mark.parametrize("languages", [("fr",), ("en", "fr")])


def _ask_in_spanish(client_api, admin_headers, languages, **extra) -> dict:
    template = client_api.post(
        "/api/v1/templates",
        json={"name": "Recording", **_content(*languages)},
        headers=admin_headers,
    ).get_json()
    body = {
        "template_id": template["id"],
        "client_name": "Ana López",
        "client_email": "ana@example.org",
        "locale": "es",
        "timezone": "America/Toronto",
        "send": False,
    }
    answer = client_api.post("/api/v1/requests", json=body | extra, headers=admin_headers)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


@NO_SPANISH
def test_the_request_api_names_a_form_the_client_lacks_in_the_organizations_french(
    client_api, admin_headers, french_org, languages
):
    created = _ask_in_spanish(client_api, admin_headers, languages)
    assert created["form_title"] == FRENCH_TITLE
    found = client_api.get(f"/api/v1/requests/{created['id']}", headers=admin_headers)
    assert found.get_json()["form_title"] == FRENCH_TITLE
    listed = client_api.get("/api/v1/requests", headers=admin_headers).get_json()
    assert [r["form_title"] for r in listed] == [FRENCH_TITLE]


@NO_SPANISH
def test_booking_is_told_the_status_of_a_form_the_client_lacks_in_the_organizations_french(
    consent_app, client_api, admin_headers, french_org, appointment, languages
):
    _ask_in_spanish(client_api, admin_headers, languages, appointment_id=appointment.id)
    step_on(consent_app, outbox.dispatch)
    _status, consents = appointment.consents()
    assert [(c["status"], c["form_title"]) for c in consents] == [("pending", FRENCH_TITLE)]


@NO_SPANISH
def test_the_privacy_export_names_a_form_the_client_lacks_in_the_organizations_french(
    client_api, admin_headers, french_org, languages
):
    _ask_in_spanish(client_api, admin_headers, languages)
    answer = client_api.post(
        "/api/v1/privacy/clients/export", json={"email": "ana@example.org"}, headers=admin_headers
    )
    assert answer.status_code == 200, answer.get_json()
    [request] = answer.get_json()["data"]["requests"]
    assert request["client"]["locale"] == "es" and request["form_title"] == FRENCH_TITLE


def test_a_form_published_without_english_is_accepted_and_signable(
    consent_app, client_api, admin_headers, french_org, settings
):
    answer = client_api.post(
        "/api/v1/templates",
        json={"name": "Enregistrement", **_content("fr", "es")},
        headers=admin_headers,
    )
    assert answer.status_code == 201, answer.get_json()
    with shared_db.get_db(consent_app).transaction() as session:
        template = forms.get_template(session=session, template_id=answer.get_json()["id"])
        form = forms.localize(template.current_version, "en")
    assert form.locale == "fr" and form.title == FRENCH_TITLE


def test_a_form_with_no_language_at_all_is_refused(client_api, admin_headers):
    content = form_content(locales={})
    answer = client_api.post(
        "/api/v1/templates", json={"name": "x", **content}, headers=admin_headers
    )
    assert answer.status_code == 422
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert "locales" in answer.get_json()["errors"]
