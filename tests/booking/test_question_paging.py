"""GET /api/v1/questions a page at a time: `limit` (50 by default, 1..200), a keyset cursor in
the `Link: rel="next"` header; the open list never answered first then oldest first, answered
and closed the most recently updated first; new questions never shift the next page, and a
staff member's cursor never shows more than their own list."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from test_questions import api

from services.booking.models import QuestionMessage
from services.booking.operations import questions

EPOCH = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def ask(session, booking_app):
    """ask(minutes, status="open", answered_before=False, appointment=None) -> the question's id,
    created and last updated `minutes` after EPOCH (several share a minute: ids break ties)."""

    def make(minutes, status="open", answered_before=False, appointment=None):
        question = questions.ask(
            session=session,
            body="Is there parking?",
            secret=booking_app.config["SECRET_KEY"],
            language="en",
            email="li.wei@example.org",
            appointment=appointment,
        )
        if answered_before:
            question.messages.append(QuestionMessage(author="staff", body="Yes."))
            question.messages.append(QuestionMessage(author="client", body="Where?"))
        question.status = status
        question.created_at = question.updated_at = EPOCH + timedelta(minutes=minutes)
        session.commit()
        return question.id

    return make


def _next(response) -> str | None:
    link = response.headers.get("Link")
    if link is None:
        return None
    return re.fullmatch(r'<(http://[^>]+)>; rel="next"', link).group(1)


def _pages(booking_app, token, url):
    """Every page of a list, following the Link headers: the ids of each."""
    pages = []
    while url:
        response = api(booking_app, token, "GET", url)
        assert response.status_code == 200, response.get_json()
        pages.append([q["id"] for q in response.get_json()])
        url = _next(response)
    return pages


def _expected(ask, status):
    """120 questions of `status` (and some of the others); their ids in the list's order."""
    keyed = []
    for n in range(120):
        minutes = n // 3  # three questions a minute
        answered_before = status == "open" and n % 4 == 0
        question_id = ask(minutes, status=status, answered_before=answered_before)
        keyed.append(((answered_before, minutes, question_id), question_id))
    for other in {"open", "answered", "closed"} - {status}:
        ask(1, status=other)
    keyed.sort(reverse=status != "open")
    return [question_id for _, question_id in keyed]


@pytest.mark.parametrize("status", ["open", "answered", "closed"])
def test_120_questions_come_in_pages_of_50_50_and_20_in_the_lists_order(
    booking_app, make_token, ask, status
):
    expected = _expected(ask, status)
    admin = make_token("booking", "admin")
    pages = _pages(booking_app, admin, f"/api/v1/questions?status={status}")
    assert [len(page) for page in pages] == [50, 50, 20]
    assert [i for page in pages for i in page] == expected  # no duplicate, no gap, in order


def test_the_link_keeps_the_status_and_limit_and_the_last_page_has_none(
    booking_app, make_token, ask
):
    for minutes in range(5):
        ask(minutes, status="answered")
    admin = make_token("booking", "admin")
    first = api(booking_app, admin, "GET", "/api/v1/questions?status=answered&limit=2")
    url = _next(first)
    assert "status=answered" in url and "limit=2" in url and "cursor=" in url
    assert [len(p) for p in _pages(booking_app, admin, first.request.url)] == [2, 2, 1]
    everything = api(booking_app, admin, "GET", "/api/v1/questions?status=answered")
    assert len(everything.get_json()) == 5 and "Link" not in everything.headers


@pytest.mark.parametrize("limit", ["0", "201", "-1", "ten"])
def test_a_limit_outside_1_to_200_is_a_422_problem(booking_app, make_token, limit):
    admin = make_token("booking", "admin")
    response = api(booking_app, admin, "GET", f"/api/v1/questions?limit={limit}")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "limit" in response.get_json()["errors"]


def test_200_is_the_largest_page(booking_app, make_token, ask):
    ask(0)
    admin = make_token("booking", "admin")
    for limit in ("1", "200"):
        response = api(booking_app, admin, "GET", f"/api/v1/questions?limit={limit}")
        assert response.status_code == 200 and len(response.get_json()) == 1


def test_a_made_up_cursor_or_another_lists_is_a_422_problem(booking_app, make_token, ask):
    for minutes in range(3):
        ask(minutes)
    admin = make_token("booking", "admin")
    open_link = _next(api(booking_app, admin, "GET", "/api/v1/questions?status=open&limit=1"))
    cursor = re.search(r"cursor=([^&]+)", open_link).group(1)
    for query in (
        f"status=answered&cursor={cursor}",  # the open list's cursor
        f"cursor={cursor}",
        "status=open&cursor=bm90IGEgY3Vyc29y",  # "not a cursor"
        "status=open&cursor=%25%25",
        "status=open&cursor=WyJvcGVuIiwxLDIsM10",  # ["open",1,2,3]
    ):
        response = api(booking_app, admin, "GET", f"/api/v1/questions?{query}")
        assert response.status_code == 422, query
        assert "cursor" in response.get_json()["errors"], query


@pytest.mark.parametrize("status", ["open", "answered"])
def test_a_question_arriving_between_pages_does_not_shift_the_next_page(
    booking_app, make_token, session, ask, status
):
    # open: 10 never answered, then 110 the client wrote back to, so the second page starts
    # among those and a new question (never answered) comes before it; answered: the newest
    # answer comes first. Either way it lands on a page already read.
    for n in range(120):
        ask(n // 3, status=status, answered_before=status == "open" and n >= 10)
    admin = make_token("booking", "admin")
    first = api(booking_app, admin, "GET", f"/api/v1/questions?status={status}")
    full = [q["id"] for q in first.get_json()]
    before = api(booking_app, admin, "GET", f"/api/v1/questions?status={status}&limit=100")
    expected_second = [q["id"] for q in before.get_json()][50:100]

    newcomer = ask(1000, status=status)
    second = api(booking_app, admin, "GET", _next(first))
    assert [q["id"] for q in second.get_json()] == expected_second
    assert newcomer not in expected_second and not set(full) & set(expected_second)
    # It is in the list, at its place, for whoever starts again.
    again = api(booking_app, admin, "GET", f"/api/v1/questions?status={status}&limit=200")
    assert newcomer in [q["id"] for q in again.get_json()]


def test_a_staff_members_pages_hold_only_their_questions_whatever_the_cursor(
    booking_app, make_token, make_staff, make_service, book, next_weekday, at, ask
):
    amira = make_staff()
    bo = make_staff(name="Bo Chen", email="bo@maple.example")
    amiras = book(make_service(staff=[amira]), at(next_weekday(1), 10)).appointment
    bos = book(make_service(staff=[bo]), at(next_weekday(2), 10)).appointment
    seen_by_bo = []
    for n in range(90):
        tied = (amiras, bos, None)[n % 3]
        question_id = ask(n, appointment=tied)
        if tied is not amiras:
            seen_by_bo.append(question_id)

    bo_token = make_token("booking", "staff", staff_id=bo.id)
    pages = _pages(booking_app, bo_token, "/api/v1/questions?status=open&limit=25")
    assert [len(page) for page in pages] == [25, 25, 10]
    assert [i for page in pages for i in page] == seen_by_bo

    # The admin's cursor (past Amira's questions too) shows Bo nothing of Amira's.
    admin = make_token("booking", "admin")
    admin_link = _next(api(booking_app, admin, "GET", "/api/v1/questions?status=open&limit=7"))
    borrowed = api(booking_app, bo_token, "GET", admin_link).get_json()
    assert {q["id"] for q in borrowed} <= set(seen_by_bo)
    assert all(q["appointment_id"] in (bos.id, None) for q in borrowed)


def _cursor(*values) -> str:
    return questions.encode_cursor(values[0], list(values[1:]))


@pytest.mark.parametrize(
    "status, cursor",
    [
        ("answered", _cursor("answered", "0001-01-01T00:00:00+05:00", 1)),  # before year 1 UTC
        ("answered", _cursor("answered", "2026-11-02T09:00:00", 1)),  # no zone
        ("answered", _cursor("answered", "2026-11-02T09:00:00+00:00", 2**40)),
        ("answered", _cursor("answered", "2026-11-02T09:00:00+00:00", True)),
        ("open", _cursor("open", 1, "2026-11-02T09:00:00+00:00", 1)),  # a flag, not a boolean
        ("open", _cursor("open", "2026-11-02T09:00:00+00:00", 1)),  # the flag left out
    ],
)
def test_an_edited_cursor_is_a_422_problem_not_an_error(booking_app, make_token, status, cursor):
    admin = make_token("booking", "admin")
    response = api(booking_app, admin, "GET", f"/api/v1/questions?status={status}&cursor={cursor}")
    assert response.status_code == 422
    assert "cursor" in response.get_json()["errors"]
