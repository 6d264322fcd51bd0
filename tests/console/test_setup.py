"""Admin setup pages: staff, services, consent forms, messages, API tokens, organization.
Each is an API action with the admin's token; staff get the 403 page on every one."""

from __future__ import annotations

import re

import pytest
from console_builders import csrf_of

from services.notify.models import Message
from shared import db as shared_db

SERVICES = ("booking", "consent", "notify")
SETUP_PAGES = (
    "/setup/organization",
    "/setup/staff",
    "/setup/staff/1",
    "/setup/services",
    "/setup/services/new",
    "/setup/consent-forms",
    "/setup/consent-forms/new",
    "/setup/messages",
    "/setup/tokens",
)


@pytest.fixture
def office(make_staff, sign_in):
    """A signed-in admin's console client."""
    make_staff(email="office@maple.example", role="admin", name="Office")
    return sign_in("office@maple.example")


def _api_status(apps, service: str, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return apps[service].test_client().get("/api/v1/whoami", headers=headers).status_code


@pytest.mark.parametrize("path", SETUP_PAGES)
def test_every_setup_page_opens_for_an_admin(office, path):
    assert office.get(path).status_code == 200


def test_staff_get_the_403_page_on_every_setup_page_and_action(make_staff, sign_in):
    make_staff(email="amira@maple.example")
    amira = sign_in("amira@maple.example")
    csrf = csrf_of(amira.get("/").text)
    for path in SETUP_PAGES:
        page = amira.get(path, headers={"Accept": "text/html"})
        assert page.status_code == 403 and "<html" in page.text, path
    for path in ("/setup/tokens", "/setup/staff/1", "/setup/services/new", "/setup/tokens/revoke"):
        assert amira.post(path, data={"csrf_token": csrf}).status_code == 403, path


def test_a_token_made_in_the_console_works_on_all_three_services_until_revoked(apps, office):
    page = office.get("/setup/tokens")
    staff_id = re.search(r'<option value="(\d+)" selected>Office', page.text).group(1)
    made = office.post(
        "/setup/tokens",
        data={
            "name": "billing export",
            "role": "admin",
            "staff_id": staff_id,
            "days": "30",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    token = re.search(r'<code id="new-token" dir="ltr">([^<]+)</code>', made.text).group(1)
    assert [_api_status(apps, s, token) for s in SERVICES] == [200] * 3
    assert token not in office.get("/setup/tokens").text  # shown once
    key = re.search(
        r'name="token" value="([^"]+)">\s*<input type="hidden" name="name" '
        r'value="billing export"',
        made.text,
    ).group(1)
    assert sorted(part.split(":")[0] for part in key.split()) == sorted(SERVICES)
    revoked = office.post(
        "/setup/tokens/revoke",
        data={"token": key, "name": "billing export", "csrf_token": csrf_of(made.text)},
    )
    assert revoked.status_code == 302
    assert [_api_status(apps, s, token) for s in SERVICES] == [401] * 3
    assert "The token is revoked on every service." in office.get(revoked.headers["Location"]).text


def test_the_token_form_keeps_its_input_and_names_the_fields(office):
    page = office.get("/setup/tokens")
    answer = office.post(
        "/setup/tokens",
        data={
            "name": "",
            "role": "admin",
            "staff_id": "1",
            "days": "9999",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert answer.status_code == 422
    assert 'id="name-error"' in answer.text and 'id="days-error"' in answer.text
    assert 'value="9999"' in answer.text and 'value="admin" selected' in answer.text
    assert 'id="new-token"' not in answer.text


def test_a_dead_message_is_listed_and_retried(notify_app, office):
    with shared_db.get_db(notify_app).transaction() as session:
        message = Message(
            channel="email",
            recipient="ana@example.org",
            template="booking_confirmation",
            status="dead",
            message_id="<dead-1@frontdesk.test>",
            last_error="550 mailbox unavailable",
        )
        session.add(message)
        session.flush()
        message_id = message.id
    page = office.get("/setup/messages")
    assert "ana@example.org" in page.text and "550 mailbox unavailable" in page.text
    answer = office.post(
        f"/setup/messages/{message_id}/retry", data={"csrf_token": csrf_of(page.text)}
    )
    assert "The message is queued again." in office.get(answer.headers["Location"]).text
    with shared_db.get_db(notify_app).transaction() as session:
        assert session.get(Message, message_id).status == "scheduled"
    again = office.post(
        f"/setup/messages/{message_id}/retry", data={"csrf_token": csrf_of(page.text)}
    )
    assert again.status_code == 302


def test_a_disabled_webhook_endpoint_is_enabled_again(notify_app, office):
    from services.notify.models import WebhookEndpoint
    from shared.db import utcnow

    with shared_db.get_db(notify_app).transaction() as session:
        endpoint = WebhookEndpoint(
            url="https://billing.example.org/hook", secret="s" * 32, disabled_at=utcnow()
        )
        session.add(endpoint)
        session.flush()
        endpoint_id = endpoint.id
    page = office.get("/setup/messages")
    assert "https://billing.example.org/hook" in page.text and "Enable again" in page.text
    answer = office.post(
        f"/setup/webhook-endpoints/{endpoint_id}/enable", data={"csrf_token": csrf_of(page.text)}
    )
    assert "receives messages again" in office.get(answer.headers["Location"]).text
    with shared_db.get_db(notify_app).transaction() as session:
        assert session.get(WebhookEndpoint, endpoint_id).disabled_at is None


def test_an_admin_changes_a_staff_members_settings(make_staff, office):
    staff_id = make_staff(email="amira@maple.example", name="Amira")
    page = office.get(f"/setup/staff/{staff_id}")
    assert 'value="Amira"' in page.text
    answer = office.post(
        f"/setup/staff/{staff_id}",
        data={
            "name": "Amira Haddad",
            "email": "amira@maple.example",
            "time_zone": "Europe/Paris",
            "role": "admin",
            "languages": "fr, ar",
            "video_link_template": "https://meet.example.org/amira",
            "dial_in": "+33142685300",
            "active": "1",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert answer.status_code == 302
    page = office.get(f"/setup/staff/{staff_id}")
    for shown in (
        'value="Europe/Paris"',
        'value="fr, ar"',
        'value="+33142685300"',
        '<option value="admin" selected',
        'value="https://meet.example.org/amira"',
    ):
        assert shown in page.text, shown


def test_a_staff_members_field_errors_show_with_the_input_kept(make_staff, office):
    staff_id = make_staff(email="amira@maple.example", name="Amira")
    page = office.get(f"/setup/staff/{staff_id}")
    answer = office.post(
        f"/setup/staff/{staff_id}",
        data={
            "name": "Amira",
            "email": "amira@maple.example",
            "time_zone": "Mars/Olympus",
            "role": "staff",
            "languages": "fr",
            "video_link_template": "not a link",
            "dial_in": "",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert answer.status_code == 422
    assert 'id="time_zone-error"' in answer.text and 'id="video_link_template-error"' in answer.text
    assert 'value="Mars/Olympus"' in answer.text and 'value="not a link"' in answer.text
    assert 'id="error-summary"' in answer.text


def test_an_admin_deactivates_and_reactivates_a_staff_member(
    apps, make_staff, sign_in, deliver, office
):
    from services.console.pages.access import COOKIE

    staff_id = make_staff(email="amira@maple.example", name="Amira")
    amira = sign_in("amira@maple.example")
    token = amira.get_cookie(COOKIE).value
    page = office.get("/setup/staff")
    csrf = csrf_of(page.text)
    office.post(f"/setup/staff/{staff_id}/active", data={"active": "0", "csrf_token": csrf})
    assert amira.get("/").status_code == 302  # signed out at once
    deliver()
    assert [_api_status(apps, s, token) for s in SERVICES] == [401] * 3
    assert 'Reactivate<span class="visually-hidden"> Amira' in office.get("/setup/staff").text
    office.post(f"/setup/staff/{staff_id}/active", data={"active": "1", "csrf_token": csrf})
    assert 'Deactivate<span class="visually-hidden"> Amira' in office.get("/setup/staff").text


def _service_form(**overrides):
    return {
        "name": "Settlement intake",
        "slug": "settlement-intake",
        "description": "A first talk.",
        "duration_minutes": "45",
        "modes": ["video", "phone"],
        "location": "",
        "buffer_before_minutes": "5",
        "buffer_after_minutes": "10",
        "min_notice_minutes": "120",
        "horizon_days": "30",
        "slot_step_minutes": "15",
        "capacity": "1",
        "reminder_offsets_minutes": "1440, 60",
        "resources": "Checklist | https://maple.example/checklist\nBring your papers",
        "listed": "1",
        "active": "1",
        **overrides,
    }


def test_an_admin_adds_a_service_with_staff_consent_forms_and_reminders(
    booking_app, consent_app, make_staff, office
):
    staff_id = make_staff(email="amira@maple.example", name="Amira")
    page = office.get("/setup/services/new")
    form = _service_form(staff_ids=[str(staff_id)], csrf_token=csrf_of(page.text))
    answer = office.post("/setup/services/new", data=form)
    assert answer.status_code == 302, answer.text
    listing = office.get("/setup/services").text
    assert "Settlement intake" in listing and "Amira" in listing
    service_id = re.search(r'/setup/services/(\d+)">Settlement intake', listing).group(1)
    edit = office.get(f"/setup/services/{service_id}").text
    assert 'value="1440, 60"' in edit and "Checklist | https://maple.example/checklist" in edit
    assert f'value="{staff_id}" checked' in edit
    changed = office.post(
        f"/setup/services/{service_id}",
        data=_service_form(active="", listed="", capacity="4", csrf_token=csrf_of(edit)),
    )
    assert changed.status_code == 302
    listing = office.get("/setup/services").text
    assert "Inactive" in listing  # still listed for admins
    assert 'value="4"' in office.get(f"/setup/services/{service_id}").text


def test_a_services_field_errors_show_with_the_input_kept(office):
    page = office.get("/setup/services/new")
    answer = office.post(
        "/setup/services/new",
        data=_service_form(
            slug="Not A Slug", duration_minutes="forty", modes=[], csrf_token=csrf_of(page.text)
        ),
    )
    assert answer.status_code == 422
    for field in ("slug", "duration_minutes"):
        assert f'id="{field}-error"' in answer.text, field
    assert 'value="Not A Slug"' in answer.text and 'value="forty"' in answer.text


CONSENT_FORM = {
    "name": "Intake consent",
    "title-en": "Consent to share",
    "body-en": "We share your file with your **caseworker**.",
    "title-fr": "Consentement au partage",
    "body-fr": "Nous partageons votre dossier avec votre intervenante.",
    "title-ar": "الموافقة على المشاركة",
    "body-ar": "نشارك ملفك مع المرشدة المسؤولة عنك.",
    "box-key-0": "share",
    "box-required-0": "1",
    "box-label-0-en": "I agree to share my file",
    "box-label-0-fr": "J'accepte le partage de mon dossier",
    "box-label-0-ar": "أوافق على مشاركة ملفي",
}


def test_a_consent_form_is_previewed_in_each_language_then_published(consent_app, office):
    page = office.get("/setup/consent-forms/new")
    preview = office.post(
        "/setup/consent-forms/new",
        data={**CONSENT_FORM, "action": "preview", "csrf_token": csrf_of(page.text)},
    )
    assert preview.status_code == 200
    assert '<article class="card" lang="ar" dir="rtl"' in preview.text
    assert "Consentement au partage" in preview.text and "أوافق على مشاركة ملفي" in preview.text
    assert "<strong>caseworker</strong>" in preview.text  # rendered by consent, as signers see it
    assert 'lang="es"' not in preview.text.split('id="preview-heading"')[1].split("</section>")[0]
    assert office.get("/setup/consent-forms").text.count("Intake consent") == 0  # not published
    published = office.post(
        "/setup/consent-forms/new",
        data={**CONSENT_FORM, "action": "publish", "csrf_token": csrf_of(preview.text)},
    )
    assert published.status_code == 302, published.text
    listing = office.get(published.headers["Location"]).text
    assert "Intake consent" in listing and "Version 1" in listing
    template_id = re.search(r"/setup/consent-forms/(\d+)", listing).group(1)
    editor = office.get(f"/setup/consent-forms/{template_id}").text
    assert "Consentement au partage" in editor  # the next version starts from the current one
    office.post(
        f"/setup/consent-forms/{template_id}",
        data={
            **CONSENT_FORM,
            "title-en": "Consent to share (2)",
            "action": "publish",
            "csrf_token": csrf_of(editor),
        },
    )
    assert "Version 2" in office.get("/setup/consent-forms").text


def test_a_consent_form_without_english_is_published_from_the_console(office):
    page = office.get("/setup/consent-forms/new")
    assert "at least one language" in page.text
    without_english = {key: value for key, value in CONSENT_FORM.items() if not key.endswith("-en")}
    published = office.post(
        "/setup/consent-forms/new",
        data={**without_english, "action": "publish", "csrf_token": csrf_of(page.text)},
    )
    assert published.status_code == 302, published.text
    assert "Intake consent" in office.get(published.headers["Location"]).text


def test_a_consent_form_with_no_language_written_says_what_english_needs(office):
    page = office.get("/setup/consent-forms/new")
    written = ("title-", "body-", "box-label-")
    blank = {key: value for key, value in CONSENT_FORM.items() if not key.startswith(written)}
    answer = office.post(
        "/setup/consent-forms/new",
        data={**blank, "action": "publish", "csrf_token": csrf_of(page.text)},
    )
    assert answer.status_code == 422
    assert 'id="title-en-error"' in answer.text


def test_a_preview_with_mistakes_shows_consents_errors_and_no_preview(office):
    page = office.get("/setup/consent-forms/new")
    answer = office.post(
        "/setup/consent-forms/new",
        data={
            **CONSENT_FORM,
            "box-label-0-fr": "",
            "action": "preview",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert answer.status_code == 422
    assert 'id="box-label-0-fr-error"' in answer.text and 'id="preview-heading"' not in answer.text


def test_a_consent_forms_errors_show_next_to_the_language_fields(office):
    page = office.get("/setup/consent-forms/new")
    answer = office.post(
        "/setup/consent-forms/new",
        data={
            **CONSENT_FORM,
            "box-label-0-fr": "",
            "box-key-0": "Share!",
            "action": "publish",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert answer.status_code == 422
    assert 'id="box-key-0-error"' in answer.text
    assert 'value="Share!"' in answer.text and "Consentement au partage" in answer.text


def test_the_organization_page_says_when_booking_has_no_profile_yet(office, booking_app):
    page = office.get("/setup/organization")
    absent = booking_app.test_client().get("/api/v1/organization").status_code in (404, 405)
    main = page.text.split("<main")[1].split("</main>")[0]
    if absent:
        assert "not available yet" in main and "<form" not in main
    else:
        assert 'name="name"' in main and 'name="reply_to"' in main


def test_an_admin_saves_the_organization_profile(office, booking_app):
    page = office.get("/setup/organization")
    form = {
        "name": "Maple Settlement Services",
        "phone": "+14165550100",
        "email": "hello@maple.example",
        "address": "12 Queen St W, Toronto",
        "reply_to": "office@maple.example",
        "default_language": "fr",
        "hours-en": "Monday to Friday, 9:00 to 17:00",
        "hours-fr": "Du lundi au vendredi, de 9 h à 17 h",
        "csrf_token": csrf_of(page.text),
    }
    assert office.post("/setup/organization", data=form).status_code == 302
    saved = booking_app.test_client().get("/api/v1/organization").get_json()
    assert saved["reply_to"] == "office@maple.example" and saved["default_language"] == "fr"
    assert saved["hours"] == {"en": form["hours-en"], "fr": form["hours-fr"]}
    wrong = office.post("/setup/organization", data={**form, "reply_to": "office@", "name": ""})
    assert wrong.status_code == 422
    assert 'id="reply_to-error"' in wrong.text and 'value="office@"' in wrong.text


def test_an_admin_uploads_the_organizations_logo(office, booking_app):
    import io

    from PIL import Image

    image = io.BytesIO()
    Image.new("RGB", (40, 20), "navy").save(image, format="PNG")
    page = office.get("/setup/organization")
    answer = office.post(
        "/setup/organization/logo",
        data={
            "logo": (io.BytesIO(image.getvalue()), "logo.png", "image/png"),
            "csrf_token": csrf_of(page.text),
        },
        content_type="multipart/form-data",
    )
    assert answer.status_code == 302, answer.text
    assert booking_app.test_client().get("/api/v1/organization").get_json()["logo_url"]
    wrong = office.post(
        "/setup/organization/logo",
        data={
            "logo": (io.BytesIO(b"not an image"), "logo.txt", "text/plain"),
            "csrf_token": csrf_of(page.text),
        },
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 422 and 'id="logo-error"' in wrong.text


@pytest.mark.parametrize(
    "path", ["/setup/staff/999999", "/setup/services/999999", "/setup/consent-forms/999999"]
)
def test_a_missing_staff_member_service_or_form_is_the_404_page(office, path):
    answer = office.get(path, headers={"Accept": "text/html"})
    assert answer.status_code == 404 and "<html" in answer.text


def test_retrying_a_missing_message_is_the_404_page(office):
    csrf = csrf_of(office.get("/setup/messages").text)
    assert office.post("/setup/messages/999999/retry", data={"csrf_token": csrf}).status_code == 404


def test_no_token_is_left_working_when_a_service_is_down(apps, office, make_token, monkeypatch):
    from services.console.clients import ConsentClient
    from shared.errors import ServiceCallFailed

    def down(*args, **kwargs):
        raise ServiceCallFailed("consent is down")

    page = office.get("/setup/tokens")
    staff_id = re.search(r'<option value="(\d+)" selected>Office', page.text).group(1)
    monkeypatch.setattr(ConsentClient, "register_token", down)
    answer = office.post(
        "/setup/tokens",
        data={
            "name": "half made",
            "role": "admin",
            "staff_id": staff_id,
            "days": "30",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert answer.status_code == 503 and 'id="new-token"' not in answer.text
    monkeypatch.undo()
    admin = {"Authorization": f"Bearer {make_token('booking', 'admin')}"}
    listed = apps["booking"].test_client().get("/api/v1/tokens", headers=admin)
    rows = [t for t in listed.get_json() if t["name"] == "half made"]
    assert len(rows) == 1 and rows[0]["revoked_at"] is not None


def test_a_new_version_keeps_the_fields_and_checkboxes_it_was_not_asked_to_change(
    consent_app, make_token, office
):
    admin = {"Authorization": f"Bearer {make_token('consent', 'admin')}"}
    labels = {"checkboxes": {"share": "I agree"}, "fields": {"pronouns": "Pronouns"}}
    made = (
        consent_app.test_client()
        .post(
            "/api/v1/templates",
            json={
                "name": "With a field",
                "locales": {"en": {"title": "Consent", "body": "Text", **labels}},
                "checkboxes": [{"key": "share", "required": False}],
                "fields": [{"key": "pronouns", "max_length": 40}],
            },
            headers=admin,
        )
        .get_json()
    )
    editor = office.get(f"/setup/consent-forms/{made['id']}")
    form = dict(re.findall(r'name="([^"]+)" type="text" value="([^"]*)"', editor.text))
    form |= dict(re.findall(r'<textarea id="([^"]+)"[^>]*>([^<]*)</textarea>', editor.text))
    answer = office.post(
        f"/setup/consent-forms/{made['id']}",
        data={**form, "action": "publish", "csrf_token": csrf_of(editor.text)},
    )
    assert answer.status_code == 302, answer.text
    current = consent_app.test_client().get(f"/api/v1/templates/{made['id']}", headers=admin)
    content = current.get_json()["current_version"]
    assert content["number"] == 2
    assert content["content"]["fields"] == [{"key": "pronouns", "max_length": 40}]
    assert content["content"]["checkboxes"] == [{"key": "share", "required": False}]
    assert content["content"]["locales"]["en"]["fields"] == {"pronouns": "Pronouns"}
