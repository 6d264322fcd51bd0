"""The help center: FAQ entries per language, found with the database's full-text search (SQLite
FTS5 here, PostgreSQL's tsvector when FRONTDESK_TEST_DATABASE_URL points there), the admin API
and the public /help page with its search box working without JavaScript."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.booking.operations import faq

HTML = {"Accept": "text/html"}
ENTRIES = [
    (
        "en",
        "What should I bring to my appointment?",
        "Bring your passport or another photo ID, and any letters you received.",
    ),
    (
        "en",
        "How do I cancel?",
        "Open the manage link from your confirmation email and choose Cancel.",
    ),
    (
        "fr",
        "Comment annuler mon rendez-vous ?",
        "Ouvrez le lien de gestion reçu par courriel et choisissez l'annulation.",
    ),
    (
        "fr",
        "Que dois-je apporter ?",
        "Apportez votre passeport ou une autre pièce d'identité avec photo.",
    ),
    (
        "es",
        "¿Cómo cancelo mi cita?",
        "Abra el enlace de gestión de su correo y elija la cancelación.",
    ),
    ("ar", "ماذا أحضر معي؟", "أحضر جواز السفر أو بطاقة هوية أخرى بصورة."),
]


@pytest.fixture
def entries(session):
    """The entries above, committed (the search reads what the triggers or indexes hold)."""
    made = [
        faq.create_entry(session=session, language=lang, question=question, answer=answer)
        for lang, question, answer in ENTRIES
    ]
    session.commit()
    return made


def questions(found) -> list[str]:
    return [entry.question for entry in found]


@pytest.mark.parametrize(
    ("language", "q", "expected"),
    [
        ("en", "passport", "What should I bring to my appointment?"),
        ("en", "passports", "What should I bring to my appointment?"),
        ("en", "how can I cancel", "How do I cancel?"),
        ("fr", "annuler", "Comment annuler mon rendez-vous ?"),
        ("fr", "annulation", "Comment annuler mon rendez-vous ?"),
        ("fr", "passeport", "Que dois-je apporter ?"),
        ("es", "cancelar", "¿Cómo cancelo mi cita?"),
        ("ar", "جواز", "ماذا أحضر معي؟"),
    ],
)
def test_search_finds_the_answer_in_each_language(session, entries, language, q, expected):
    found = faq.search_entries(session=session, language=language, q=q)
    assert questions(found)[0] == expected


def test_search_stays_in_its_language_and_ignores_what_is_not_a_word(session, entries):
    assert faq.search_entries(session=session, language="es", q="passport") == []
    assert faq.search_entries(session=session, language="en", q="annuler") == []
    assert faq.search_entries(session=session, language="en", q='"*) NEAR( "') == []
    assert faq.search_entries(session=session, language="en", q="?!") == []


def test_a_changed_or_removed_entry_is_searched_as_it_now_is(session, entries):
    bring = entries[0]
    faq.update_entry(session=session, entry=bring, answer="Bring your health card.")
    session.commit()
    assert faq.search_entries(session=session, language="en", q="passport") == []
    assert questions(faq.search_entries(session=session, language="en", q="health")) == [
        bring.question
    ]
    faq.delete_entry(session=session, entry=bring)
    session.commit()
    assert faq.search_entries(session=session, language="en", q="health") == []


# --- the API -----------------------------------------------------------------------------------


def test_admins_write_entries_and_anyone_searches_them(booking_app, make_token):
    client = booking_app.test_client()
    admin = {"Authorization": f"Bearer {make_token('booking', 'admin')}"}
    body = {"language": "fr", "question": "Puis-je venir avec un interprète ?", "answer": "Oui."}
    created = client.post("/api/v1/faq", json=body, headers=admin)
    assert created.status_code == 201, created.json
    entry_id = created.json["id"]
    assert created.json["position"] == 0
    changed = client.put(
        f"/api/v1/faq/{entry_id}",
        json={**body, "answer": "Oui, un interprète gratuit."},
        headers=admin,
    )
    assert changed.status_code == 200 and changed.json["answer"] == "Oui, un interprète gratuit."
    found = client.get("/api/v1/faq", query_string={"language": "fr", "q": "interprètes"})
    assert found.status_code == 200 and [e["id"] for e in found.json] == [entry_id]
    assert client.get(f"/api/v1/faq/{entry_id}").json["question"] == body["question"]
    assert client.delete(f"/api/v1/faq/{entry_id}", headers=admin).status_code == 204
    gone = client.get(f"/api/v1/faq/{entry_id}")
    assert gone.status_code == 404 and gone.json["code"] == "faq_entry_not_found"


@pytest.mark.parametrize(("language", "q", "index"), [("en", "passport", 0), ("fr", "annuler", 2)])
def test_search_answers_the_json_the_entry_schema_makes(
    booking_app, session, entries, language, q, index
):
    # The search's JSON is written by PostgreSQL (from the rows on SQLite), not through
    # marshmallow: the same values, moments written as utc_iso writes them.
    from services.booking.schemas import FaqEntrySchema

    entries[index].created_at = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)  # no microseconds
    session.commit()
    found = booking_app.test_client().get(
        "/api/v1/faq", query_string={"language": language, "q": q}
    )
    assert found.status_code == 200
    assert found.json == FaqEntrySchema(many=True).dump([entries[index]])
    nothing = booking_app.test_client().get("/api/v1/faq?language=en&q=zzzz")
    assert nothing.status_code == 200 and nothing.json == []


def test_staff_cannot_write_entries(booking_app, make_token):
    staff = {"Authorization": f"Bearer {make_token('booking', 'staff', staff_id=1)}"}
    body = {"language": "en", "question": "Q?", "answer": "A."}
    refused = booking_app.test_client().post("/api/v1/faq", json=body, headers=staff)
    assert refused.status_code == 403


def test_bad_entries_and_searches_are_problems_with_field_errors(booking_app, make_token):
    client = booking_app.test_client()
    admin = {"Authorization": f"Bearer {make_token('booking', 'admin')}"}
    bad = client.post(
        "/api/v1/faq",
        json={"language": "French", "question": "two\nlines", "answer": ""},
        headers=admin,
    )
    assert bad.status_code == 422
    assert bad.headers["Content-Type"].startswith("application/problem+json")
    assert {"language", "question", "answer"} <= set(bad.json["errors"])
    no_language = client.get("/api/v1/faq", query_string={"q": "passport"})
    assert no_language.status_code == 422
    assert "language" in no_language.json["errors"]


# --- the page ----------------------------------------------------------------------------------


def test_help_page_searches_without_javascript_and_keeps_the_query(booking_app, entries):
    client = booking_app.test_client()
    page = client.get("/help?lang=fr&q=annuler", headers=HTML)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Comment annuler mon rendez-vous ?" in html
    assert "Que dois-je apporter ?" not in html
    assert 'name="q" value="annuler"' in html
    assert 'role="search"' in html


def test_help_page_lists_the_languages_entries_and_each_services_resources(
    booking_app, entries, make_service
):
    service = make_service(
        resources=[{"title": "Bring your documents", "url": None, "text": "ID, PR card"}]
    )
    html = booking_app.test_client().get("/help?lang=en", headers=HTML).get_data(as_text=True)
    assert "How do I cancel?" in html and "What should I bring to my appointment?" in html
    assert "Comment annuler" not in html
    assert service.name in html and "ID, PR card" in html
    assert f'href="/{service.slug}"' in html


def test_public_pages_link_to_the_help_center_in_their_footer(booking_app, make_service):
    make_service()
    html = booking_app.test_client().get("/", headers=HTML).get_data(as_text=True)
    footer = html.split('<footer class="site-footer">')[1]
    assert 'href="http://frontdesk.test/booking/help"' in footer


@pytest.mark.parametrize("lang", ["fr", "es", "ar"])
def test_help_page_speaks_the_clients_language(booking_app, entries, lang):
    html = (
        booking_app.test_client()
        .get(f"/help?lang={lang}&q=zzz", headers=HTML)
        .get_data(as_text=True)
    )
    for english in ("Questions and answers", "Search the answers", "Try another word", "Help:"):
        assert english not in html, english
    assert f'lang="{lang}"' in html
