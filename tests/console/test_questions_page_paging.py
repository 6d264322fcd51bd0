"""The Questions page a page at a time: 50 questions, a "Next page" link (in the person's
language) to the rest and a "First page" link back; answered questions the most recently
updated first; an edited cursor shows the tab's first page; the nav's badge still counts all."""

from __future__ import annotations

import html
import re

import pytest
from test_questions_page import _ask

from services.booking.models import Question
from services.booking.operations import questions
from shared import db as shared_db

WORDS = {
    "en": {"next": "Next page", "first": "First page"},
    "ar": {"next": "الصفحة التالية", "first": "الصفحة الأولى"},
}


def _listed(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/questions/(\d+)"', page)]


def _link(page: str, link_id: str) -> tuple[str, str] | None:
    found = re.search(rf'<a href="([^"]+)"(?: rel="next")? id="{link_id}">([^<]+)</a>', page)
    return (html.unescape(found.group(1)), found.group(2)) if found else None


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_page_shows_50_questions_and_a_next_page_link_to_the_rest(
    booking_app, make_staff, sign_in, language
):
    make_staff(email="amira@maple.example")
    asked = [
        _ask(booking_app, f"Question {n}?", email="li@example.org", age=100 - n) for n in range(55)
    ]
    client = sign_in("amira@maple.example")
    headers = {"Accept-Language": language}

    first = client.get("/questions", headers=headers)
    assert first.status_code == 200
    assert _listed(first.text) == asked[:50]  # the oldest first
    next_url, next_label = _link(first.text, "next-page")
    assert next_label == WORDS[language]["next"]
    assert next_url.startswith("/questions?status=open&cursor=")
    assert _link(first.text, "first-page") is None
    # The badge counts every open question, not the page's.
    assert re.search(r'class="badge">55</span>', first.text)

    second = client.get(next_url, headers=headers)
    assert second.status_code == 200
    assert _listed(second.text) == asked[50:]
    assert _link(second.text, "next-page") is None
    back_url, back_label = _link(second.text, "first-page")
    assert back_label == WORDS[language]["first"]
    assert _listed(client.get(back_url, headers=headers).text) == asked[:50]


def test_the_answered_tab_pages_the_most_recently_answered_first(booking_app, make_staff, sign_in):
    make_staff(email="amira@maple.example")
    asked = [_ask(booking_app, f"Question {n}?", email="li@example.org") for n in range(52)]
    for question_id in asked:  # answered in the order they were asked: the last one latest
        with shared_db.get_db(booking_app).transaction() as session:
            question = session.get(Question, question_id)
            questions.answer(session=session, question=question, staff_id=None, body="Yes.")
    client = sign_in("amira@maple.example")
    first = client.get("/questions?status=answered").text
    assert _listed(first) == asked[::-1][:50]
    next_url, _ = _link(first, "next-page")
    assert next_url.startswith("/questions?status=answered&cursor=")
    assert _listed(client.get(next_url).text) == asked[::-1][50:]


def test_an_edited_cursor_shows_the_tabs_first_page(booking_app, make_staff, sign_in):
    make_staff(email="amira@maple.example")
    asked = _ask(booking_app, "Is there parking?", email="li@example.org")
    client = sign_in("amira@maple.example")
    page = client.get("/questions?status=open&cursor=not-a-cursor")
    assert page.status_code == 200
    assert _listed(page.text) == [asked]
