"""'Ask us': a client's question, staff answers, and the client's replies, as one thread.

A question asked from a manage page is tied to that appointment: its staff member sees and
answers it. Untied questions (asked from the help center) are seen and answered by every staff
member, since nobody in particular owns them; admins see all. Each answer reaches the client by
the channel they gave, as a link to the thread (the token is derived from the question's uid
with the secret key and only its hash is stored); no message body carries the thread itself.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from services.booking import outbox
from services.booking.errors import QuestionClosed, TooManyQuestions, TooManyReplies
from services.booking.manage_tokens import hash_manage_token, question_token_for
from services.booking.models import Appointment, Question, QuestionMessage
from shared.db import utcnow
from shared.email_addresses import mailbox_key
from shared.errors import NotFound, ValidationFailed

BODY_MAX = 2000
NAME_MAX = 200
# Control characters other than line breaks and tabs, and the bidi overrides and isolates.
_REFUSED = re.compile(
    r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]"
)
# Anything that reads as an HTML tag or comment: questions are plain text.
_TAG = re.compile(r"<\s*[/!?]?\s*[a-zA-Z]")
STATUSES = ("open", "answered", "closed")
# The daily limits count a contact's questions and replies over this sliding window.
LIMIT_WINDOW = timedelta(hours=24)


def text_problem(text: str) -> str | None:
    """Why `text` cannot be a question's message, or None."""
    if not text.strip():
        return "Write your question."
    if len(text) > BODY_MAX:
        return f"Keep it under {BODY_MAX} characters."
    if _REFUSED.search(text):
        return "Use plain text: no control or text-direction characters."
    if _TAG.search(text):
        return "Use plain text: no HTML."
    return None


def _checked(body: str) -> str:
    body = body.strip().replace("\r\n", "\n")
    if problem := text_problem(body):
        raise ValidationFailed(errors={"body": [problem]})
    return body


def _hash(token: str) -> str:
    return hash_manage_token(token)  # the same SHA-256 as manage tokens


def ask(
    *,
    session: Session,
    body: str,
    secret: str,
    language: str,
    name: str = "",
    email: str | None = None,
    phone: str | None = None,
    appointment: Appointment | None = None,
    daily_cap: int = 0,
    now: datetime | None = None,
) -> Question:
    """Store a client's question (tied to `appointment` when given, whose contacts it uses).

    With `daily_cap`, one contact (mailbox or phone number) may ask at most that many questions
    in 24 hours (TooManyQuestions beyond), on top of the pages' per-address rate limits.
    """
    body = _checked(body)
    if appointment is not None:
        name = appointment.client_name
        email = appointment.client_email if appointment.by_email else None
        phone = appointment.client_phone if appointment.by_sms or not email else None
        language = appointment.client_language
    if not email and not phone:
        raise ValidationFailed(errors={"contact": ["Give an email address or a phone number."]})
    key = mailbox_key(email) if email else phone
    if daily_cap:
        _check_questions_cap(session, key, daily_cap, now or utcnow())
    uid = secrets.token_hex(16)
    question = Question(
        uid=uid,
        token_hash=_hash(question_token_for(uid, secret)),
        appointment=appointment,
        client_name=name.strip()[:NAME_MAX],
        client_email=email,
        client_phone=phone,
        contact_key=key,
        language=language,
        status="open",
        messages=[QuestionMessage(author="client", body=body)],
    )
    session.add(question)
    session.flush()
    return question


def _retry_after(oldest_counted: datetime, now: datetime) -> dict[str, str]:
    free_again = oldest_counted + LIMIT_WINDOW
    return {"Retry-After": str(max(1, int((free_again - now).total_seconds()) + 1))}


def _check_questions_cap(session: Session, key: str, cap: int, now: datetime) -> None:
    asked = session.scalars(
        sa.select(Question.created_at)
        .where(Question.contact_key == key, Question.created_at > now - LIMIT_WINDOW)
        .order_by(Question.created_at.desc())
        .limit(cap)
    ).all()
    if len(asked) >= cap:
        raise TooManyQuestions(
            f"This email address or phone number already asked {cap} questions in the last "
            "24 hours; please wait for the answers, or ask again later.",
            headers=_retry_after(asked[-1], now),
        )


def _check_replies_cap(session: Session, key: str | None, cap: int, now: datetime) -> None:
    """At most `cap` replies (client messages after a thread's first) per contact in 24 hours."""
    if not key:
        return
    first = (
        sa.select(sa.func.min(QuestionMessage.id))
        .where(QuestionMessage.question_id == Question.id)
        .correlate(Question)
        .scalar_subquery()
    )
    written = session.scalars(
        sa.select(QuestionMessage.created_at)
        .join(Question, QuestionMessage.question_id == Question.id)
        .where(
            Question.contact_key == key,
            QuestionMessage.author == "client",
            QuestionMessage.created_at > now - LIMIT_WINDOW,
            QuestionMessage.id != first,
        )
        .order_by(QuestionMessage.created_at.desc())
        .limit(cap)
    ).all()
    if len(written) >= cap:
        raise TooManyReplies(
            f"This email address or phone number already wrote {cap} replies in the last "
            "24 hours; please wait for our answer, or write again later.",
            headers=_retry_after(written[-1], now),
        )


def _visible(staff_id: int | None) -> sa.ColumnElement[bool]:
    """Staff: questions about their appointments and untied ones; admin (None): all."""
    if staff_id is None:
        return sa.true()
    theirs = sa.select(Appointment.id).where(Appointment.staff_id == staff_id)
    return sa.or_(Question.appointment_id.is_(None), Question.appointment_id.in_(theirs))


PAGE_DEFAULT = 50
PAGE_MAX = 200
_MAX_ID = 2**31  # ids are 32-bit integers
# A staff member has answered in the thread already (the client wrote back since).
_ANSWERED_BEFORE = (
    sa.exists()
    .where(QuestionMessage.question_id == Question.id, QuestionMessage.author == "staff")
    .correlate(Question)
)


@dataclass(frozen=True)
class QuestionPage:
    """One page of a list, and the cursor of the next page (None: this is the last one)."""

    items: list[Question]
    next_cursor: str | None


def _sort_key(status: str | None) -> list[sa.ColumnElement]:
    """What a list is ordered by (every key ascending but answered and closed: descending).

    open: never answered first, then oldest first (the console's Waiting tab); answered and
    closed: the most recently updated first (those lists grow forever: ix_questions_status_
    updated_at_id serves them); no status: oldest first.
    """
    if status == "open":
        return [_ANSWERED_BEFORE, Question.created_at, Question.id]
    if status in ("answered", "closed"):
        return [Question.updated_at, Question.id]
    return [Question.created_at, Question.id]


def encode_cursor(status: str | None, values: list) -> str:
    """An opaque cursor: the list it belongs to and the sort key of the page's last question."""
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps([status or "", *plain], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, status: str | None) -> list:
    """The sort key a cursor of the `status` list carries; ValueError if it is not one.

    A cursor only says where a page starts: the caller's visibility and the status filter
    still apply, so a made-up cursor shows nothing more than the first page's filter does.
    """
    refused = ValueError("Not a cursor of this list.")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        kind, *values = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise refused from exc
    if kind != (status or "") or len(values) != len(_sort_key(status)):
        raise refused
    flags, (moment, question_id) = values[:-2], values[-2:]
    if not all(isinstance(flag, bool) for flag in flags):
        raise refused
    if not isinstance(moment, str) or type(question_id) is not int:
        raise refused
    if not 0 < question_id < _MAX_ID:
        raise refused
    try:
        at = datetime.fromisoformat(moment)
        at = at.astimezone(UTC) if at.tzinfo is not None else None
    except (ValueError, OverflowError) as exc:
        raise refused from exc
    if at is None:
        raise refused
    return [*flags, at, question_id]


def list_questions(
    *,
    session: Session,
    staff_id: int | None,
    status: str | None,
    limit: int = PAGE_DEFAULT,
    cursor: list | None = None,
) -> QuestionPage:
    """One page of the questions the caller may see (those of one status when given), in the
    order of `_sort_key`, starting after `cursor` (a decoded one: `decode_cursor`).

    Keyset paging: the next page starts after the last question shown, so a question that
    arrives meanwhile never shifts it: it lands before that (on a page already read: a newly
    answered one, say) or after it.
    """
    key = _sort_key(status)
    descending = status in ("answered", "closed")
    query = (
        sa.select(Question, *key[:-2])  # open: the answered-before flag, for the cursor
        .where(_visible(staff_id))
        .options(selectinload(Question.messages))
        .order_by(*(column.desc() if descending else column for column in key))
        .limit(limit + 1)
    )
    if status:
        query = query.where(Question.status == status)
    if cursor is not None:
        after = sa.tuple_(*key)
        query = query.where(after < tuple(cursor) if descending else after > tuple(cursor))
    rows = session.execute(query).all()
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        question = last[0]
        moment = question.updated_at if descending else question.created_at
        flags = [bool(flag) for flag in last[1:]]  # SQLite's EXISTS is 0 or 1
        next_cursor = encode_cursor(status, [*flags, moment, question.id])
    return QuestionPage(items=[row[0] for row in page], next_cursor=next_cursor)


def count_open(*, session: Session, staff_id: int | None) -> int:
    """How many questions the caller may see are waiting for an answer."""
    query = sa.select(sa.func.count(Question.id)).where(
        _visible(staff_id), Question.status == "open"
    )
    return session.scalar(query) or 0


def get_question(*, session: Session, question_id: int, staff_id: int | None) -> Question:
    """One question the caller may see (404 otherwise, so ids cannot be probed)."""
    question = session.scalar(
        sa.select(Question).where(Question.id == question_id, _visible(staff_id))
    )
    if question is None:
        raise NotFound("No such question.", code="question_not_found")
    return question


def question_by_token(*, session: Session, token: str) -> Question | None:
    """The question a client's thread token opens, or None."""
    return session.scalar(sa.select(Question).where(Question.token_hash == _hash(token)))


def answer(
    *, session: Session, question: Question, staff_id: int | None, body: str
) -> QuestionMessage:
    """A staff answer; the client gets a link to the thread by their channel (the outbox)."""
    _refuse_closed(question)
    message = QuestionMessage(author="staff", staff_id=staff_id, body=_checked(body))
    question.messages.append(message)
    question.status = "answered"
    session.flush()
    outbox.add_question_answered(session, question)
    return message


def _refuse_closed(question: Question) -> None:
    if question.status == "closed":
        raise QuestionClosed("This question is closed: nobody can write in it any more.")


def close(*, session: Session, question: Question) -> Question:
    """Staff end a thread without answering (spam, or handled by phone): the client is not
    told, their thread page says it is closed and takes no more replies."""
    _refuse_closed(question)
    question.status = "closed"
    session.flush()
    return question


def reply(
    *,
    session: Session,
    question: Question,
    body: str,
    daily_cap: int = 0,
    now: datetime | None = None,
) -> QuestionMessage:
    """The client's reply in the thread: the question is open again (a closed one refuses it;
    with `daily_cap`, so does a contact who already wrote that many replies in 24 hours)."""
    _refuse_closed(question)
    body = _checked(body)
    if daily_cap:
        _check_replies_cap(session, question.contact_key, daily_cap, now or utcnow())
    message = QuestionMessage(author="client", body=body)
    question.messages.append(message)
    question.status = "open"
    session.flush()
    return message
