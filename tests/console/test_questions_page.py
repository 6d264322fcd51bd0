"""The Questions page: staff list their open questions (never answered first, no address shown),
read a thread, answer it (PRG; the client gets the link through booking and notify) or close it;
a refused answer keeps the input; another staff member's appointment's question is a 404."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from console_builders import csrf_of, local

from services.booking import outbox as booking_outbox
from services.booking.models import Appointment, Question
from services.booking.operations import questions
from services.notify.models import Message
from shared import db as shared_db
from shared.workers import step_on


def _ask(booking_app, body, *, email=None, phone=None, name="", appointment_id=None, age=0):
    """A client's question, as the pages store it (`age` minutes ago)."""
    with shared_db.get_db(booking_app).transaction() as session:
        question = questions.ask(
            session=session,
            body=body,
            secret=booking_app.config["SECRET_KEY"],
            language="en",
            name=name,
            email=email,
            phone=phone,
            appointment=session.get(Appointment, appointment_id) if appointment_id else None,
        )
        question.created_at = question.created_at - timedelta(minutes=age)
        return question.id


def _status(booking_app, question_id):
    with shared_db.get_db(booking_app).transaction() as session:
        return session.get(Question, question_id).status


def test_the_list_shows_open_questions_never_answered_first_with_no_address(
    booking_app, make_staff, book, sign_in, future_day
):
    amira = make_staff(email="amira@maple.example")
    appointment = book(amira, local(future_day, 10))
    newer = _ask(booking_app, "Is there parking?", email="li.wei@example.org", name="Li Wei")
    older = _ask(booking_app, "Do you open on Saturday?", phone="+14165550199", age=60)
    tied = _ask(booking_app, "Can I bring my daughter?", appointment_id=appointment, age=30)
    client = sign_in("amira@maple.example")
    page = client.get("/questions").text
    assert "li.wei@example.org" not in page and "+14165550199" not in page
    assert "Li" in page and "Li Wei" not in page  # the first name only
    assert "answer by email" in page and "answer by SMS" in page
    order = [int(n) for n in re.findall(r'href="/questions/(\d+)"', page)]
    assert order == [older, tied, newer]
    assert f'href="/appointments/{appointment}"' in page
    # The nav's badge counts them, with words for screen readers.
    assert re.search(r'class="badge">3</span><span class="visually-hidden"> waiting', page)


def test_answering_sends_the_client_the_link_and_the_question_shows_answered(
    booking_app, notify_app, make_staff, book, sign_in, future_day
):
    make_staff(email="amira@maple.example")
    asked = _ask(booking_app, "Is there parking?", email="li.wei@example.org", name="Li Wei")
    client = sign_in("amira@maple.example")
    page = client.get(f"/questions/{asked}")
    assert page.status_code == 200
    assert "Is there parking?" in page.text and "at most 2000 characters" in page.text
    sent = client.post(
        f"/questions/{asked}/answer",
        data={"csrf_token": csrf_of(page.text), "body": "Yes, behind the building."},
    )
    assert sent.status_code == 302
    assert sent.headers["Location"].endswith(f"/questions/{asked}?done=answered")
    after = client.get(sent.headers["Location"]).text
    assert "Yes, behind the building." in after
    assert re.search(r'id="question-status">Answered<', after)
    assert _status(booking_app, asked) == "answered"
    assert "No question is waiting" in client.get("/questions").text
    assert f'href="/questions/{asked}"' in client.get("/questions?status=answered").text

    step_on(booking_app, booking_outbox.dispatch)
    with shared_db.get_db(notify_app).transaction() as session:
        templates = session.scalars(
            sa.select(Message.template).where(Message.recipient == "li.wei@example.org")
        ).all()
    assert "booking_question_answered" in templates


def test_a_refused_answer_keeps_the_input_and_says_why(booking_app, make_staff, sign_in):
    make_staff(email="amira@maple.example")
    asked = _ask(booking_app, "Hours?", phone="+14165550199")
    client = sign_in("amira@maple.example")
    csrf = csrf_of(client.get(f"/questions/{asked}").text)
    for body in ("See <a href=x>here</a>", "x" * 2001):
        refused = client.post(f"/questions/{asked}/answer", data={"csrf_token": csrf, "body": body})
        assert refused.status_code == 422
        assert 'aria-invalid="true"' in refused.text
        assert "plain text (no HTML), in at most 2000 characters" in refused.text
    assert (
        "See &lt;a href=x&gt;here&lt;/a&gt;"
        in client.post(
            f"/questions/{asked}/answer",
            data={"csrf_token": csrf, "body": "See <a href=x>here</a>"},
        ).text
    )
    no_csrf = client.post(f"/questions/{asked}/answer", data={"body": "Nine to five."})
    assert no_csrf.status_code == 400
    assert _status(booking_app, asked) == "open"


def test_closing_a_question_ends_the_thread_and_a_second_close_says_so(
    booking_app, make_staff, sign_in
):
    make_staff(email="amira@maple.example")
    asked = _ask(booking_app, "Buy cheap watches", email="spam@example.org")
    client = sign_in("amira@maple.example")
    csrf = csrf_of(client.get(f"/questions/{asked}").text)
    closed = client.post(f"/questions/{asked}/close", data={"csrf_token": csrf})
    assert closed.headers["Location"].endswith("done=closed")
    page = client.get(closed.headers["Location"]).text
    assert re.search(r'id="question-status">Closed<', page)
    assert 'id="answer"' not in page and "takes no more answers" in page
    assert _status(booking_app, asked) == "closed"
    again = client.post(f"/questions/{asked}/close", data={"csrf_token": csrf})
    assert again.headers["Location"].endswith("done=already_closed")
    answer = client.post(f"/questions/{asked}/answer", data={"csrf_token": csrf, "body": "Hi"})
    assert answer.headers["Location"].endswith("done=already_closed")
    assert f'href="/questions/{asked}"' in client.get("/questions?status=closed").text


def test_staff_never_read_answer_or_close_another_staff_members_appointments_question(
    booking_app, make_staff, book, sign_in, future_day
):
    amira = make_staff(email="amira@maple.example")
    make_staff(email="bo@maple.example")
    appointment = book(amira, local(future_day, 10))
    tied = _ask(booking_app, "Can I bring my daughter?", appointment_id=appointment)
    bo = sign_in("bo@maple.example")
    assert f'href="/questions/{tied}"' not in bo.get("/questions").text
    assert bo.get(f"/questions/{tied}").status_code == 404
    csrf = csrf_of(bo.get("/questions").text)
    for action, data in (("answer", {"body": "Sure."}), ("close", {})):
        refused = bo.post(f"/questions/{tied}/{action}", data={"csrf_token": csrf, **data})
        assert refused.status_code == 404, action
    assert _status(booking_app, tied) == "open"
    amira_client = sign_in("amira@maple.example")
    assert amira_client.get(f"/questions/{tied}").status_code == 200
