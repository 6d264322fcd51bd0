"""'Ask us': a question left on the pages (JavaScript off), seen and answered by staff through
the API, the answer's link sent by the client's channel (real SMTP), the thread read and
answered again behind its token; who sees what; plain text only; rate-limited."""

from __future__ import annotations

import re

import pytest
from test_lost_links import ANA, booked_for
from test_pages_booking import HTML, hidden, text
from test_phone_only import run_workers

from services.booking.manage_tokens import manage_token_for


@pytest.fixture(autouse=True)
def _fresh_rate_limits(booking_app):
    for limiter in booking_app.extensions["limiter"]:
        limiter.reset()


@pytest.fixture
def smtp(notify_app, smtp_sink):
    """notify delivering into the test's SMTP sink."""
    previous = notify_app.config["SMTP_URL"]
    notify_app.config["SMTP_URL"] = smtp_sink.url
    yield smtp_sink
    notify_app.config["SMTP_URL"] = previous


def ask_on_help_page(client, address="192.0.2.20", **form):
    environ = {"REMOTE_ADDR": address}
    page = text(client.get("/help/ask?lang=fr", headers=HTML, environ_base=environ))
    data = {"csrf_token": hidden(page, "csrf_token"), "name": "", "contact": "", "body": ""}
    return client.post("/help/ask", data={**data, **form}, headers=HTML, environ_base=environ)


def api(booking_app, token, method, path, **kwargs):
    headers = {"Authorization": f"Bearer {token}"}
    return booking_app.test_client().open(path, method=method, headers=headers, **kwargs)


def test_a_question_asked_at_night_is_answered_and_the_client_reads_and_answers_the_thread(
    booking_app,
    notify_app,
    smtp,
    make_token,
    make_staff,
):
    client = booking_app.test_client()
    asked = ask_on_help_page(
        client,
        name="Ana Souza",
        contact="ana@example.org",
        body="Puis-je venir avec ma fille ?\nMerci.",
    )
    assert asked.status_code == 303
    thread = asked.headers["Location"]
    token = re.search(r"/questions/(fdq_[0-9a-f]{48})", thread).group(1)
    page = text(client.get(thread, headers=HTML))
    assert "Puis-je venir avec ma fille ?" in page

    staff = make_staff()
    staff_token = make_token("booking", "staff", staff_id=staff.id)
    [question] = api(booking_app, staff_token, "GET", "/api/v1/questions?status=open").get_json()
    assert question["messages"][0]["body"] == "Puis-je venir avec ma fille ?\nMerci."
    assert "client_email" not in question  # staff answer through the thread, not by email
    answered = api(
        booking_app,
        staff_token,
        "POST",
        f"/api/v1/questions/{question['id']}/answers",
        json={"body": "Oui, bien sûr."},
    )
    assert answered.status_code == 201
    assert answered.get_json()["status"] == "answered"
    assert api(booking_app, staff_token, "GET", "/api/v1/questions?status=open").get_json() == []

    smtp.messages.clear()
    run_workers(booking_app, None, notify_app)
    [message] = smtp.wait_for(1)
    assert message["To"] == "ana@example.org"
    body = message.get_body(("plain",)).get_content()
    assert f"/booking/questions/{token}" in body
    assert "Oui, bien sûr." not in body  # the answer stays behind the link

    page = text(client.get(f"/questions/{token}", headers=HTML))
    assert "Oui, bien sûr." in page
    reply = client.post(
        f"/questions/{token}",
        data={"csrf_token": hidden(page, "csrf_token"), "body": "Merci beaucoup !"},
        headers=HTML,
    )
    assert reply.status_code == 303
    [again] = api(booking_app, staff_token, "GET", "/api/v1/questions?status=open").get_json()
    assert [m["author"] for m in again["messages"]] == ["client", "staff", "client"]


def test_a_question_from_a_manage_page_is_tied_to_the_appointment_and_seen_by_its_staff_only(
    booking_app, session, book, make_service, make_staff, make_token, next_weekday, at
):
    [appointment] = booked_for(book, make_service, next_weekday, at, ANA)
    manage = manage_token_for(appointment.uid, booking_app.config["SECRET_KEY"])
    client = booking_app.test_client()
    page = text(client.get(f"/manage/{manage}/ask", headers=HTML))
    asked = client.post(
        f"/manage/{manage}/ask",
        data={"csrf_token": hidden(page, "csrf_token"), "body": "Is there parking?"},
        headers=HTML,
    )
    assert asked.status_code == 303

    own = make_token("booking", "staff", staff_id=appointment.staff_id)
    other = make_token("booking", "staff", staff_id=make_staff().id)
    admin = make_token("booking", "admin")
    [seen] = api(booking_app, own, "GET", "/api/v1/questions").get_json()
    assert seen["appointment_id"] == appointment.id
    assert api(booking_app, other, "GET", "/api/v1/questions").get_json() == []
    assert len(api(booking_app, admin, "GET", "/api/v1/questions").get_json()) == 1
    refused = api(
        booking_app, other, "POST", f"/api/v1/questions/{seen['id']}/answers", json={"body": "x"}
    )
    assert refused.status_code == 404
    assert refused.get_json()["code"] == "question_not_found"


@pytest.mark.parametrize(
    "body",
    ["<script>alert(1)</script>", "Hello <b>there</b>", "bad\u202ereversed", "x" * 2001, "   "],
)
def test_html_control_characters_and_overlong_questions_are_refused_with_the_input_kept(
    booking_app, body
):
    response = ask_on_help_page(booking_app.test_client(), contact="ana@example.org", body=body)
    assert response.status_code == 422
    page = text(response)
    assert 'aria-invalid="true"' in page
    assert "ana@example.org" in page  # the contact stays in its box


def test_an_answer_with_html_is_a_422_problem(booking_app, make_token):
    ask_on_help_page(booking_app.test_client(), contact="+14165550123", body="Hours on Friday?")
    admin = make_token("booking", "admin")
    [question] = api(booking_app, admin, "GET", "/api/v1/questions").get_json()
    refused = api(
        booking_app,
        admin,
        "POST",
        f"/api/v1/questions/{question['id']}/answers",
        json={"body": "<a href=x>here</a>"},
    )
    assert refused.status_code == 422
    assert refused.get_json()["code"] == "validation_failed"


def test_asking_is_rate_limited_per_address(booking_app):
    client = booking_app.test_client()
    statuses = [
        ask_on_help_page(client, contact=f"c{n}@example.org", body="When are you open?").status_code
        for n in range(6)
    ]
    assert statuses == [303] * 5 + [429]


def test_erasing_a_client_deletes_their_questions(booking_app, make_token):
    ask_on_help_page(booking_app.test_client(), contact="Ana@Example.org", body="Parking?")
    ask_on_help_page(booking_app.test_client(), contact="bob@example.org", body="Hours?")
    admin = make_token("booking", "admin")
    erased = api(
        booking_app,
        admin,
        "POST",
        "/api/v1/privacy/clients/erase",
        json={"email": "ana@example.org"},
    )
    assert erased.status_code == 200, erased.get_json()
    assert erased.get_json()["erased"]["questions_deleted"] == 1
    left = api(booking_app, admin, "GET", "/api/v1/questions").get_json()
    assert [q["messages"][0]["body"] for q in left] == ["Hours?"]
