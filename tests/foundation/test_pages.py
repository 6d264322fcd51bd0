"""The shared page layer: language choice, CSRF, security headers, friendly errors, translations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask import Flask, render_template_string

from services.booking import models as booking_models
from shared.app import configure
from shared.errors import NotFound
from shared.pages import LANGUAGES, init_pages

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def page_app(make_page_app):
    return make_page_app()


@pytest.fixture
def make_page_app(database_urls):
    """make_page_app(**config) -> a page app with a form at /form and a 404 at /missing."""

    def make(**config):
        return build_page_app(
            {"DATABASE_URL": database_urls["booking"], "SECRET_KEY": "x", **config}
        )

    return make


def build_page_app(config):
    app = Flask("pagetest", root_path=str(ROOT / "services" / "booking"))
    configure(app, "booking", config, booking_models.ApiToken)
    limiter = init_pages(app)

    @app.route("/form", methods=["GET", "POST"])
    @limiter.limit("3/minute")
    def form():
        return render_template_string(
            '{% extends "base.html" %}{% from "forms.html" import csrf, field %}'
            '{% block content %}<form method="post">{{ csrf() }}{{ field("name", "Name", {}) }}</form>{% endblock %}'
        )

    @app.get("/missing")
    def missing():
        raise NotFound("no such booking")

    return app


def test_language_from_query_is_remembered_in_cookie(page_app):
    client = page_app.test_client()
    first = client.get("/form?lang=fr")
    assert '<html lang="fr"' in first.get_data(as_text=True)
    assert "Aller au contenu principal" in first.get_data(as_text=True)
    again = client.get("/form")
    assert '<html lang="fr"' in again.get_data(as_text=True)


def test_language_falls_back_to_accept_language(page_app):
    response = page_app.test_client().get("/form", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert '<html lang="es"' in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("public_url", "secure"),
    [("http://127.0.0.1:8000", False), ("https://frontdesk.example", True)],
)
def test_session_cookie_is_samesite_lax_and_secure_when_the_public_url_is_https(
    make_page_app, public_url, secure
):
    client = make_page_app(PUBLIC_URL=public_url).test_client()
    response = client.get("/form?lang=fr")  # the form's CSRF token lives in the session
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    for name in ("session", "lang"):
        attributes = [part.strip().lower() for part in cookies[name].split(";")]
        assert "samesite=lax" in attributes, cookies[name]
        assert ("secure" in attributes) is secure, cookies[name]
    assert "httponly" in [part.strip().lower() for part in cookies["session"].split(";")]


def test_pages_carry_strict_security_headers(page_app):
    response = page_app.test_client().get("/form")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_form_post_without_csrf_token_is_refused_kindly(page_app):
    response = page_app.test_client().post(
        "/form", data={"name": "x"}, headers={"Accept": "text/html"}
    )
    assert response.status_code == 400
    assert "text/html" in response.content_type
    assert "Traceback" not in response.get_data(as_text=True)


def test_post_without_a_form_body_is_refused_without_csrf_token_too(page_app):
    client = page_app.test_client()
    assert client.post("/form").get_json()["code"] == "csrf_failed"
    assert client.post("/form", json={"name": "x"}).get_json()["code"] == "csrf_failed"


def test_form_post_with_csrf_token_passes(page_app):
    client = page_app.test_client()
    client.get("/form")
    with client.session_transaction() as session:
        token = session["csrf"]
    assert client.post("/form", data={"name": "x", "csrf_token": token}).status_code == 200


def test_browser_gets_friendly_404_page_in_its_language(page_app):
    response = page_app.test_client().get("/missing?lang=es", headers={"Accept": "text/html"})
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "No encontramos esta página" in body
    assert "no such booking" not in body


def test_api_client_still_gets_problem_json(page_app):
    response = page_app.test_client().get("/missing", headers={"Accept": "application/json"})
    assert response.mimetype == "application/problem+json"


def test_rate_limit_answers_429(page_app):
    client = page_app.test_client()
    statuses = [client.get("/form", headers={"Accept": "text/html"}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def _catalog_dirs():
    return [
        p
        for p in [ROOT / "shared", *(ROOT / "services").iterdir()]
        if (p / "translations").is_dir()
    ]


@pytest.mark.parametrize("package", _catalog_dirs(), ids=lambda p: p.name)
@pytest.mark.parametrize("locale", [code for code in LANGUAGES if code != "en"])
def test_every_page_string_is_translated(package, locale):
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    extracted = {
        message if isinstance(message, str) else message[0]
        for _, _, message, *_ in extract_from_dir(package, method_map)
    }
    po = package / "translations" / locale / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    missing = sorted(
        m for m in extracted if m and (catalog.get(m) is None or not catalog.get(m).string)
    )
    assert missing == [], f"{po.relative_to(ROOT)} lacks {len(missing)} translations"


def test_page_css_uses_logical_properties_so_right_to_left_pages_mirror():
    css = (ROOT / "shared" / "static" / "frontdesk.css").read_text()
    physical = re.findall(
        r"(?:margin|padding|border|inset)-(?:left|right)\b|(?<![\w-])(?:left|right)\s*:"
        r"|(?:text-align|float|clear)\s*:\s*(?:left|right)",
        re.sub(r"/\*.*?\*/", "", css, flags=re.S),
    )
    assert physical == []


def test_arabic_page_is_right_to_left_and_english_left_to_right(page_app):
    client = page_app.test_client()
    arabic = client.get("/missing?lang=ar", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in arabic
    assert "لم نتمكن من العثور على هذه الصفحة" in arabic
    english = client.get("/missing?lang=en", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in english
