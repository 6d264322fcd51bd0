"""'Ask us': a client leaves a question from the help center (/help/ask, with their email or
phone) or from a manage page (/manage/<token>/ask, tied to that appointment), then reads the
thread and writes back behind the thread's token (/questions/<token>)."""

from __future__ import annotations

from flask import current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from services.booking.errors import QuestionClosed, TooManyQuestions, TooManyReplies
from services.booking.manage_tokens import question_token_for
from services.booking.models import Question
from services.booking.operations import appointments, lost_links, questions
from services.booking.pages import blueprint
from shared import db
from shared.errors import NotFound, ValidationFailed

LIMITS = {"body": questions.BODY_MAX, "name": questions.NAME_MAX}


def _body_error(exc: ValidationFailed) -> dict[str, str]:
    """The page's wording of the operation's refusal of a message."""
    if "contact" in (exc.errors or {}):
        return {
            "contact": _("Enter your email address or your phone number with its country code.")
        }
    return {
        "body": _(
            "Write your question in plain text (no HTML), in at most %(n)d characters.",
            n=questions.BODY_MAX,
        )
    }


def _caps() -> tuple[int, int]:
    config = current_app.config
    return (
        config["MAX_QUESTIONS_PER_CONTACT_PER_DAY"],
        config["MAX_QUESTION_REPLIES_PER_CONTACT_PER_DAY"],
    )


def _too_many_questions() -> dict[str, str]:
    return {
        "body": _(
            "You have asked us several questions today already. We will answer them; please "
            "wait for our reply, or call us if it is urgent. Your text is kept below."
        )
    }


def _ask_page(
    form: dict[str, str], errors: dict[str, str], token: str | None, status=200, headers=None
):
    page = render_template("booking/ask.html", form=form, errors=errors, token=token, limits=LIMITS)
    return page, status, headers or {}


def _thread_redirect(question: Question):
    token = question_token_for(question.uid, current_app.config["SECRET_KEY"])
    return redirect(url_for(".question_thread", token=token, asked=1), 303)


@blueprint.route("/help/ask", methods=["GET", "POST"])
def ask():
    """Leave a question for the organization, with an email address or a phone number."""
    form = {key: (request.form.get(key) or "") for key in ("name", "contact", "body")}
    if request.method == "GET":
        return _ask_page(form, {}, None)
    if request.form.get("website"):  # the honeypot: only bots fill it
        return redirect(url_for(".help_center"), 303)
    contact = lost_links.read_contact(form["contact"])
    errors = {}
    if contact is None or (contact.channel == "sms" and not contact.international):
        errors["contact"] = _(
            "Enter your email address or your phone number with its country code."
        )
    if problem := questions.text_problem(form["body"].strip()):
        errors["body"] = _body_error(ValidationFailed(errors={"body": [problem]}))["body"]
    if errors:
        return _ask_page(form, errors, None, 422)
    try:
        question = questions.ask(
            session=db.session(),
            body=form["body"],
            secret=current_app.config["SECRET_KEY"],
            language=g.lang,
            name=form["name"].strip(),
            email=form["contact"].strip() if contact.channel == "email" else None,
            phone=contact.key if contact.channel == "sms" else None,
            daily_cap=_caps()[0],
        )
    except TooManyQuestions as exc:
        return _ask_page(form, _too_many_questions(), None, 429, exc.headers)
    return _thread_redirect(question)


@blueprint.route("/manage/<manage_token:token>/ask", methods=["GET", "POST"])
def ask_about_appointment(token: str):
    """Leave a question about this appointment (its staff member answers)."""
    appointment = appointments.get_by_manage_token(session=db.session(), token=token)
    form = {"body": request.form.get("body") or ""}
    if request.method == "GET":
        return _ask_page(form, {}, token)
    try:
        question = questions.ask(
            session=db.session(),
            body=form["body"],
            secret=current_app.config["SECRET_KEY"],
            language=appointment.client_language,
            appointment=appointment,
            daily_cap=_caps()[0],
        )
    except TooManyQuestions as exc:
        return _ask_page(form, _too_many_questions(), token, 429, exc.headers)
    except ValidationFailed as exc:
        errors = _body_error(exc)
        return _ask_page(form, errors, token, 422)
    return _thread_redirect(question)


@blueprint.route("/questions/<token>", methods=["GET", "POST"])
def question_thread(token: str):
    """The client's thread: their question, the answers, and a form to write back."""
    session = db.session()
    question = questions.question_by_token(session=session, token=token)
    if question is None:
        raise NotFound("This link does not open a question.", code="question_not_found")
    body, errors, status, headers = "", {}, 200, {}
    if request.method == "POST":
        body = request.form.get("body") or ""
        try:
            questions.reply(session=session, question=question, body=body, daily_cap=_caps()[1])
            return redirect(url_for(".question_thread", token=token, sent=1), 303)
        except QuestionClosed:
            status = 409  # the page says the thread is closed, in place of the form
        except TooManyReplies as exc:
            status, headers = 429, exc.headers
            errors = {
                "body": _(
                    "You have written to us many times today already. We read every message; "
                    "please wait for our answer, or call us if it is urgent. Your text is kept "
                    "below."
                )
            }
        except ValidationFailed as exc:
            errors, status = _body_error(exc), 422
    page = render_template(
        "booking/question.html",
        question=question,
        token=token,
        body=body,
        errors=errors,
        asked=request.args.get("asked") == "1",
        limits=LIMITS,
        # Times in the client's zone when we know it (asked from a manage page).
        zone=question.appointment.client_time_zone if question.appointment else None,
        sent=request.args.get("sent") == "1",
    )
    return page, status, headers
