"""The client's signing pages through the Flask test client, with JavaScript off (plain forms)."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import struct
import zlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pytest
import sqlalchemy as sa
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from consent_builders import ORIGIN, form_content

from services.consent.models import ConsentRequest
from services.consent.operations import forms, records, requests
from shared import db as shared_db
from shared.auth import hash_token
from shared.db import utcnow

ROOT = Path(__file__).resolve().parents[2]
CONSENT = ROOT / "services" / "consent"
HTML = {"Accept": "text/html"}


@pytest.fixture
def client(consent_app):
    for limiter in consent_app.extensions.get("limiter", ()):
        limiter.reset()
    return consent_app.test_client()


@pytest.fixture
def make_link(consent_app):
    """make_link(locale="en", **content overrides) -> a fresh signing token."""

    def make(locale: str = "en", **overrides) -> str:
        settings = records.RecordSettings.from_config(consent_app.config)
        with shared_db.get_db(consent_app).transaction() as session:
            template = forms.create_template(
                session=session, name="Recording", content=form_content(**overrides)
            )
            created = requests.create_request(
                session=session,
                template=template,
                client={
                    "client_name": "Ana López",
                    "client_email": "ana@example.org",
                    "client_phone": None,
                    "locale": locale,
                    "timezone": "America/Toronto",
                },
                settings=settings,
                send=False,
                origin=ORIGIN,
            )
        return created.signing_url.rsplit("/", 1)[1]

    return make


class Stored(NamedTuple):
    status: str
    answers: dict | None
    withdrawn_at: datetime | None


@pytest.fixture
def stored(consent_app):
    """stored(token) -> (status, record answers or None, withdrawn_at) of a token's request."""

    def read(token: str) -> Stored:
        with shared_db.get_db(consent_app).transaction() as session:
            request = session.scalar(
                sa.select(ConsentRequest).where(ConsentRequest.token_hash == hash_token(token))
            )
            record = request.record
            return Stored(
                request.status,
                record.answers if record else None,
                record.withdrawn_at if record else None,
            )

    return read


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def good_answers(csrf: str, **overrides) -> dict[str, str]:
    answers = {
        "csrf_token": csrf,
        "checkbox_recording": "yes",
        "checkbox_sharing": "yes",
        "field_pronouns": "she/her",
        "disclosure_accepted": "yes",
        "signer": "self",
        "typed_name": "Ana López",
        "signature_image": "",
        "timezone": "",
        "website": "",
    }
    answers.update(overrides)
    return {key: value for key, value in answers.items() if value is not None}


def open_form(client, token: str, query: str = "") -> str:
    response = client.get(f"/sign/{token}{query}", headers=HTML)
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def png_data_url(width: int = 40, height: int = 20) -> str:
    """A real PNG (a black diagonal on white), as a browser's canvas.toDataURL() gives it."""
    rows = b"".join(
        b"\x00" + b"".join(b"\x00" if x == y * 2 else b"\xff" for x in range(width))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + base64.b64encode(png).decode()


# --- signing -----------------------------------------------------------------------------------


def test_typed_name_alone_signs_and_thank_you_page_links_the_copy(client, make_link, stored):
    token = make_link()
    page = open_form(client, token)
    assert '<html lang="en"' in page
    assert '<label for="checkbox_recording">I agree to the recording' in page
    assert 'id="disclosure_accepted"' in page and "paper copy" in page
    assert '<canvas class="signature"' in page and "hidden></canvas>" in page
    response = client.post(f"/sign/{token}", data=good_answers(csrf_of(page)), headers=HTML)
    assert response.status_code == 200
    thanks = response.get_data(as_text=True)
    assert "Thank you, the form is signed" in thanks
    download = re.search(r'href="http://frontdesk\.test/consent(/records/fdr_[^"]+\.pdf)"', thanks)
    assert download, thanks
    pdf = client.get(download.group(1))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    signed = stored(token)
    assert signed.status == "signed"
    assert signed.answers["signer"] == {
        "typed_name": "Ana López",
        "proxy": False,
        "relationship": None,
    }
    assert signed.answers["signature_image"] is None
    assert signed.answers["fields"] == {"pronouns": "she/her"}


def test_drawn_png_signature_goes_on_the_record(client, make_link, stored):
    token = make_link()
    page = open_form(client, token)
    drawing = png_data_url()
    response = client.post(
        f"/sign/{token}",
        data=good_answers(csrf_of(page), signature_image=drawing, timezone="Europe/Paris"),
        headers=HTML,
    )
    assert response.status_code == 200
    image = stored(token).answers["signature_image"]
    assert image["media_type"] == "image/png"
    assert image["data_url"] == drawing


def test_guardian_signs_with_their_relationship(client, make_link, stored):
    token = make_link()
    csrf = csrf_of(open_form(client, token))
    missing = client.post(
        f"/sign/{token}", data=good_answers(csrf, signer="proxy", typed_name="Rosa López")
    )
    assert missing.status_code == 422
    assert 'aria-describedby="proxy_relationship-hint proxy_relationship-error"' in (
        missing.get_data(as_text=True)
    )
    response = client.post(
        f"/sign/{token}",
        data=good_answers(
            csrf, signer="proxy", typed_name="Rosa López", proxy_relationship="mother"
        ),
    )
    assert response.status_code == 200
    assert "<bdi>Rosa López</bdi> (<bdi>mother</bdi>)" in response.get_data(as_text=True)
    assert stored(token).answers["signer"] == {
        "typed_name": "Rosa López",
        "proxy": True,
        "relationship": "mother",
    }


def test_missing_checkbox_is_422_with_error_tied_to_it_and_every_answer_kept(
    client, make_link, stored
):
    token = make_link()
    csrf = csrf_of(open_form(client, token))
    drawing = png_data_url()
    response = client.post(
        f"/sign/{token}",
        data=good_answers(csrf, checkbox_sharing=None, signature_image=drawing),
        headers=HTML,
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "<title>Error:" in page
    assert 'id="error-summary"' in page and '<a href="#checkbox_sharing">' in page
    sharing = re.search(r'<input type="checkbox" id="checkbox_sharing"[^>]*>', page).group(0)
    assert 'aria-describedby="checkbox_sharing-error"' in sharing
    assert 'aria-invalid="true"' in sharing and "checked" not in sharing
    assert 'id="checkbox_sharing-error"' in page
    recording = re.search(r'<input type="checkbox" id="checkbox_recording"[^>]*>', page).group(0)
    assert "checked" in recording
    assert 'value="Ana López"' in page and 'value="she/her"' in page
    assert f'value="{drawing}"' in page
    assert re.search(r'id="disclosure_accepted"[^>]*checked', page)
    assert stored(token).status == "pending"


def test_every_problem_is_listed_at_once(client, make_link):
    token = make_link()
    csrf = csrf_of(open_form(client, token))
    response = client.post(
        f"/sign/{token}",
        data={"csrf_token": csrf, "field_pronouns": "x" * 51, "typed_name": " "},
    )
    assert response.status_code == 422
    summary = response.get_data(as_text=True).split('id="error-summary"')[1].split("</div>")[0]
    links = re.findall(r'href="#([a-z_]+)"', summary)
    assert links == [
        "checkbox_recording",
        "checkbox_sharing",
        "field_pronouns",
        "disclosure_accepted",
        "typed_name",
    ]


def test_fields_have_length_limits_in_the_page_and_on_the_server(client, make_link):
    token = make_link()
    page = open_form(client, token)
    assert re.search(r'id="typed_name"[^>]*maxlength="200"', page)
    assert re.search(r'id="field_pronouns"[^>]*maxlength="50"', page)
    response = client.post(f"/sign/{token}", data=good_answers(csrf_of(page), typed_name="A" * 201))
    assert response.status_code == 422
    assert 'href="#typed_name"' in response.get_data(as_text=True)


def test_unreadable_drawing_is_422_on_the_drawing(client, make_link, stored):
    token = make_link()
    csrf = csrf_of(open_form(client, token))
    response = client.post(
        f"/sign/{token}", data=good_answers(csrf, signature_image="data:image/png;base64,AAAA")
    )
    assert response.status_code == 422
    assert 'href="#signature_image"' in response.get_data(as_text=True)
    assert stored(token).status == "pending"


def test_signing_twice_shows_a_kind_page_and_a_fresh_copy(client, make_link):
    token = make_link()
    answers = good_answers(csrf_of(open_form(client, token)))
    assert client.post(f"/sign/{token}", data=answers).status_code == 200
    again = client.post(f"/sign/{token}", data=answers, headers=HTML)
    assert again.status_code == 409
    page = again.get_data(as_text=True)
    assert "You have already signed this form" in page
    assert f'action="/sign/{token}/copy?lang=en"' in page
    visit = client.get(f"/sign/{token}", headers=HTML)
    assert visit.status_code == 200
    assert "You have already signed this form" in visit.get_data(as_text=True)
    copy = client.post(f"/sign/{token}/copy?lang=en", data={"csrf_token": answers["csrf_token"]})
    assert copy.status_code == 303
    location = copy.headers["Location"]
    assert location.startswith("http://frontdesk.test/consent/records/fdr_")
    pdf = client.get(location.removeprefix("http://frontdesk.test/consent"))
    assert pdf.data.startswith(b"%PDF")


# --- decline and withdraw ----------------------------------------------------------------------


def test_decline_asks_first_then_closes_the_link(client, make_link, stored):
    token = make_link()
    form = open_form(client, token)
    assert f'href="/sign/{token}/decline?lang=en"' in form
    confirm = client.get(f"/sign/{token}/decline", headers=HTML)
    assert confirm.status_code == 200
    page = confirm.get_data(as_text=True)
    assert "Decline this form?" in page and stored(token).status == "pending"
    response = client.post(
        f"/sign/{token}/decline", data={"csrf_token": csrf_of(page), "reason": "No recording"}
    )
    assert response.status_code == 200
    assert "You declined this form" in response.get_data(as_text=True)
    assert stored_status(client, token) == 410


def stored_status(client, token: str) -> int:
    return client.get(f"/sign/{token}", headers=HTML).status_code


def test_decline_without_csrf_token_does_nothing(client, make_link, stored):
    token = make_link()
    open_form(client, token)
    response = client.post(f"/sign/{token}/decline", headers=HTML)
    assert response.status_code == 400
    assert stored(token).status == "pending"


def test_client_withdraws_from_their_link_as_easily_as_they_signed(client, make_link, stored):
    token = make_link()
    answers = good_answers(csrf_of(open_form(client, token)))
    thanks = client.post(f"/sign/{token}", data=answers).get_data(as_text=True)
    assert f'href="/sign/{token}/withdraw?lang=en"' in thanks
    confirm = client.get(f"/sign/{token}/withdraw", headers=HTML)
    assert confirm.status_code == 200
    page = confirm.get_data(as_text=True)
    assert "Withdraw your consent" in page
    response = client.post(f"/sign/{token}/withdraw", data={"csrf_token": csrf_of(page)})
    assert response.status_code == 200
    assert "Your consent is withdrawn" in response.get_data(as_text=True)
    assert stored(token).status == "withdrawn"
    assert stored(token).withdrawn_at is not None
    used = client.get(f"/sign/{token}", headers=HTML)
    assert used.status_code == 410
    assert "This link was already used" in used.get_data(as_text=True)


def test_withdraw_page_of_an_unsigned_form_leads_back_to_the_form(client, make_link):
    token = make_link()
    response = client.get(f"/sign/{token}/withdraw?lang=es")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/sign/{token}?lang=es"


def test_over_long_reason_is_422_and_kept(client, make_link):
    token = make_link()
    csrf = csrf_of(open_form(client, token))
    response = client.post(
        f"/sign/{token}/decline", data={"csrf_token": csrf, "reason": "x" * 1001}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'aria-describedby="reason-hint reason-error"' in page and "x" * 1001 in page


# --- links that no longer work -----------------------------------------------------------------


def test_unknown_link_is_a_friendly_404_page(client):
    response = client.get("/sign/fdc_" + "x" * 43)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "We could not find this page" in page and "Traceback" not in page


def test_expired_link_is_a_friendly_410_page(client, consent_app, make_link):
    token = make_link(locale="es")
    with shared_db.get_db(consent_app).transaction() as session:
        session.execute(sa.update(ConsentRequest).values(expires_at=utcnow() - timedelta(hours=1)))
    response = client.get(f"/sign/{token}?lang=es")
    assert response.status_code == 410
    assert "Este enlace ha caducado" in response.get_data(as_text=True)
    posted = client.post(f"/sign/{token}", data=good_answers("x"), headers=HTML)
    assert posted.status_code in (400, 410)


# --- safety ------------------------------------------------------------------------------------


def test_pages_keep_the_token_from_leaking_and_forbid_inline_script(client, make_link):
    token = make_link()
    response = client.get(f"/sign/{token}")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "<script>" not in page and " style=" not in page and "<style" not in page


def test_expired_form_session_shows_the_form_again_with_the_answers(client, make_link, stored):
    token = make_link()
    open_form(client, token)
    response = client.post(f"/sign/{token}", data=good_answers("stale-token"))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Please check your answers and send again" in page
    assert 'value="Ana López"' in page
    retry = client.post(f"/sign/{token}", data=good_answers(csrf_of(page)))
    assert retry.status_code == 200
    assert stored(token).status == "signed"


def test_honeypot_filled_in_signs_nothing(client, make_link, stored):
    token = make_link()
    csrf = csrf_of(open_form(client, token))
    response = client.post(f"/sign/{token}", data=good_answers(csrf, website="http://spam"))
    assert response.status_code == 400
    assert stored(token).status == "pending"


def test_signing_posts_are_rate_limited(client, make_link):
    token = make_link()
    csrf = csrf_of(open_form(client, token))
    statuses = [
        client.post(f"/sign/{token}", data={"csrf_token": csrf}, headers=HTML).status_code
        for _ in range(11)
    ]
    assert statuses == [422] * 10 + [429]
    assert client.get(f"/sign/{token}").status_code == 200


# --- languages and size ------------------------------------------------------------------------


def test_form_is_in_the_clients_language_unless_another_is_chosen(client, make_link):
    token = make_link(locale="fr")
    french = open_form(client, token)
    assert '<html lang="fr"' in french and "J'accepte l'enregistrement" in french
    assert "Signer le formulaire" in french
    spanish = open_form(client, token, "?lang=es")
    assert '<html lang="es"' in spanish and "Acepto la grabación" in spanish
    assert 'action="/sign/' in spanish and '?lang=es"' in spanish


def test_form_without_the_language_says_so_and_marks_the_english(client, make_link):
    content = form_content()
    del content["locales"]["es"]
    token = make_link(locale="es", locales=content["locales"])
    page = open_form(client, token)
    assert '<html lang="es"' in page
    assert '<h1 lang="en">Session recording' in page
    assert "no está disponible en su idioma" in page


def _english_strings() -> dict[str, set[str]]:
    """For fr and es: every English string we wrote for these pages whose translation differs."""
    method_map = [("**/templates/pages/**.html", "jinja2"), ("pages.py", "python")]
    messages = {
        message if isinstance(message, str) else message[0]
        for _, _, message, *_ in extract_from_dir(CONSENT, method_map)
    }
    found = {}
    for locale in ("fr", "es", "ar"):
        with (CONSENT / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
            catalog = read_po(po, locale=locale)
        found[locale] = {
            m.split("%(")[0].strip()
            for m in messages
            if catalog.get(m) and catalog.get(m).string != m and len(m) > 8
        }
    return found


@pytest.mark.parametrize("locale", ["fr", "es", "ar"])
def test_french_and_spanish_pages_have_no_english_left(client, make_link, locale):
    english = _english_strings()[locale]
    assert len(english) > 40
    token = make_link(locale=locale)
    pages = [open_form(client, token)]
    form = pages[0]
    failed = client.post(f"/sign/{token}", data={"csrf_token": csrf_of(form)})
    pages.append(failed.get_data(as_text=True))
    pages.append(client.get(f"/sign/{token}/decline").get_data(as_text=True))
    pages.append(client.post(f"/sign/{token}", data=good_answers(csrf_of(form))).get_data(True))
    pages.append(client.get(f"/sign/{token}").get_data(as_text=True))
    pages.append(client.get(f"/sign/{token}/withdraw").get_data(as_text=True))
    pages.append(client.post(f"/sign/{token}/withdraw", data={"csrf_token": csrf_of(form)}).text)
    used = client.get(f"/sign/{token}", headers={"Accept-Language": f"{locale};q=0.9,en;q=0.5"})
    assert used.status_code == 410
    pages.append(used.get_data(as_text=True))
    for page in map(html.unescape, pages):
        assert f'<html lang="{locale}"' in page
        left = sorted(s for s in english if s and s in page)
        assert left == [], left


def test_each_page_with_its_css_and_js_is_under_100_kb(client, make_link):
    token = make_link()
    page = open_form(client, token)
    assets = re.findall(r'(?:href|src)="(/static/fd/[^"]+)"', page)
    assert len(assets) == 2
    total = len(page.encode()) + sum(len(client.get(path).data) for path in assets)
    assert total < 100 * 1024, total


def test_audit_records_the_disclosure_exactly_as_the_signer_read_it(client, consent_app, make_link):
    token = make_link(locale="fr")
    page = open_form(client, token)
    shown = re.findall(
        r"<li>([^<]+)</li>", page.split('id="disclosure_accepted"')[0].rsplit("<ul>", 1)[1]
    )
    assert any("copie papier" in item for item in shown)
    client.post(f"/sign/{token}", data=good_answers(csrf_of(page)), headers=HTML)
    with shared_db.get_db(consent_app).transaction() as session:
        request = session.scalar(
            sa.select(ConsentRequest).where(ConsentRequest.token_hash == hash_token(token))
        )
        event = next(e for e in request.events if e.kind == "disclosure_accepted")
        assert event.details["disclosure_text"] == "\n".join(shown)
        expected = hashlib.sha256("\n".join(shown).encode()).hexdigest()
        assert event.details["disclosure_sha256"] == expected


def test_arabic_signing_page_is_right_to_left_with_the_form_in_arabic(client, make_link):
    content = form_content()
    content["locales"]["ar"] = {
        "title": "تسجيل الجلسة ومشاركة المعلومات",
        "body": "نود **تسجيل** هذه الجلسة.",
        "checkboxes": {"recording": "أوافق على التسجيل", "sharing": "أوافق على المشاركة"},
        "fields": {"pronouns": "الضمائر"},
    }
    token = make_link(locale="ar", locales=content["locales"])
    page = open_form(client, token)
    assert '<html lang="ar" dir="rtl">' in page
    assert "تسجيل الجلسة ومشاركة المعلومات" in page and "أوافق على التسجيل" in page
    assert "ارسم توقيعك" in page and "وقّع النموذج" in page
    assert "This form is not available in your language" not in page
    signed = client.post(f"/sign/{token}", data=good_answers(csrf_of(page)), headers=HTML)
    assert '<html lang="ar" dir="rtl">' in signed.get_data(as_text=True)
    assert "شكرًا لك، تم توقيع النموذج" in signed.get_data(as_text=True)
