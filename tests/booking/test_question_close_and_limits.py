"""'Ask us': staff close a thread (API, then the client's page says so and takes no reply);
a contact's daily limits on new questions and replies, on top of the per-address rate limit."""

from __future__ import annotations

import re

import pytest
from test_pages_booking import HTML, hidden, text
from test_questions import api, ask_on_help_page


@pytest.fixture(autouse=True)
def _fresh_rate_limits(booking_app):
    for limiter in booking_app.extensions["limiter"]:
        limiter.reset()


def _thread_of(response) -> str:
    return re.search(r"/questions/fdq_[0-9a-f]{48}", response.headers["Location"]).group(0)


def _reply(client, thread: str, body: str, address: str = "192.0.2.30"):
    environ = {"REMOTE_ADDR": address}
    page = text(client.get(thread, headers=HTML, environ_base=environ))
    data = {"csrf_token": hidden(page, "csrf_token"), "body": body}
    return client.post(thread, data=data, headers=HTML, environ_base=environ)


def test_a_closed_question_leaves_the_open_list_and_its_thread_takes_no_more_replies(
    booking_app, make_token
):
    client = booking_app.test_client()
    thread = _thread_of(
        ask_on_help_page(client, contact="ana@example.org", body="Buy cheap watches")
    )
    admin = make_token("booking", "admin")
    [question] = api(booking_app, admin, "GET", "/api/v1/questions?status=open").get_json()
    assert question["contact_channel"] == "email"

    closed = api(booking_app, admin, "POST", f"/api/v1/questions/{question['id']}/close")
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["status"] == "closed"
    assert api(booking_app, admin, "GET", "/api/v1/questions?status=open").get_json() == []
    [listed] = api(booking_app, admin, "GET", "/api/v1/questions?status=closed").get_json()
    assert listed["id"] == question["id"]

    again = api(booking_app, admin, "POST", f"/api/v1/questions/{question['id']}/close")
    assert again.status_code == 409
    assert again.mimetype == "application/problem+json"
    assert again.get_json()["code"] == "question_closed"
    answer = api(
        booking_app,
        admin,
        "POST",
        f"/api/v1/questions/{question['id']}/answers",
        json={"body": "Too late"},
    )
    assert answer.status_code == 409 and answer.get_json()["code"] == "question_closed"

    page = text(client.get(thread + "?lang=en", headers=HTML))
    assert "This conversation is closed" in page
    assert 'id="reply-form"' not in page
    with_token = _reply_to_closed(client, thread, booking_app)
    assert with_token.status_code == 409
    assert "This conversation is closed" in text(with_token)
    [after] = api(booking_app, admin, "GET", "/api/v1/questions?status=closed").get_json()
    assert len(after["messages"]) == 1


def _reply_to_closed(client, thread, booking_app):
    # The closed page has no form: take a CSRF token from the ask page (same session).
    page = text(client.get("/help/ask", headers=HTML))
    return client.post(
        thread, data={"csrf_token": hidden(page, "csrf_token"), "body": "Hello?"}, headers=HTML
    )


def test_an_unknown_status_filter_is_a_422_problem(booking_app, make_token):
    admin = make_token("booking", "admin")
    response = api(booking_app, admin, "GET", "/api/v1/questions?status=spam")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"


def test_a_contact_asks_at_most_the_daily_number_of_questions_from_any_address(booking_app):
    booking_app.config["MAX_QUESTIONS_PER_CONTACT_PER_DAY"] = 3
    client = booking_app.test_client()
    try:
        statuses = [
            ask_on_help_page(
                client, address=f"198.51.100.{n}", contact="Ana@Example.org", body=f"Q{n}?"
            ).status_code
            for n in range(3)
        ]
        # The same mailbox written differently is the same contact.
        over = ask_on_help_page(
            client, address="198.51.100.9", contact="ana@example.org", body="One more?"
        )
    finally:
        booking_app.config["MAX_QUESTIONS_PER_CONTACT_PER_DAY"] = 5
    assert statuses == [303] * 3
    assert over.status_code == 429
    assert int(over.headers["Retry-After"]) > 0
    page = text(over)
    assert "One more?" in page  # the text is kept
    assert 'aria-invalid="true"' in page
    other = ask_on_help_page(
        client, address="198.51.100.10", contact="bob@example.org", body="Hours?"
    )
    assert other.status_code == 303


def test_a_contact_writes_at_most_the_daily_number_of_replies(booking_app):
    booking_app.config["MAX_QUESTION_REPLIES_PER_CONTACT_PER_DAY"] = 2
    client = booking_app.test_client()
    try:
        thread = _thread_of(ask_on_help_page(client, contact="+14165550123", body="Parking?"))
        sent = [_reply(client, thread, f"And {n}?", f"203.0.113.{n}").status_code for n in range(2)]
        over = _reply(client, thread, "Still there?", "203.0.113.7")
    finally:
        booking_app.config["MAX_QUESTION_REPLIES_PER_CONTACT_PER_DAY"] = 20
    assert sent == [303, 303]
    assert over.status_code == 429
    assert "Still there?" in text(over)
