"""Questions ("ask us"): the clients' questions staff answer, from booking's API with the
person's own token (staff: their appointments' questions and the untied ones; admins: all).

The list shows the open questions by default (never answered first, then oldest first) with
the asker's first name and channel, never their address; answered and closed ones are a tab
away (the most recently updated first). Booking orders them and gives them 50 a page, with a
"Next page" link from its cursor. A question's page shows the whole thread, a form to answer (plain text, booking sends the
client the thread's link) and a button to close it (spam, or handled by phone). Both post here,
then one API call, then back to the question's page (PRG); a refused answer comes back with the
input kept and the error next to it. The nav's badge counts the open questions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, abort, g, redirect, render_template, request, url_for
from flask_babel import gettext

from services.console.errors import ApiProblem
from services.console.pages.access import page_blueprint
from shared.errors import ServiceCallFailed
from shared.pages import N_

blueprint = page_blueprint("console_questions")

PAGE_SIZE = 50  # questions a page (booking takes 1..200)
BODY_MAX = 2000  # booking's limit on a message (services/booking/operations/questions.py)
TABS = {"open": N_("Waiting"), "answered": N_("Answered"), "closed": N_("Closed")}
DONE = {
    "answered": N_("Answered. The client gets a link to the conversation."),
    "closed": N_("Closed. The client's page says so and takes no more messages."),
    "already_closed": N_("This question was closed already."),
}


def _with_times(question: dict[str, Any]) -> dict[str, Any]:
    messages = [
        {**m, "created_at_at": datetime.fromisoformat(m["created_at"])}
        for m in question["messages"]
    ]
    name = (question.get("client_name") or "").split()
    return {
        **question,
        "messages": messages,
        "created_at_at": datetime.fromisoformat(question["created_at"]),
        "first_name": name[0] if name else "",
        "answered_before": any(m["author"] == "staff" for m in messages),
    }


@blueprint.get("/questions")
def questions():
    """One page of the open questions, never answered first then oldest first (?status=answered
    or closed: those, the most recently updated first); ?cursor= is a later page."""
    status = request.args.get("status", "open")
    if status not in TABS:
        status = "open"
    cursor = request.args.get("cursor") or None
    try:
        page = g.api.booking.questions(status, cursor=cursor, limit=PAGE_SIZE)
    except ApiProblem as problem:
        if cursor is None or problem.status != 422:
            raise
        cursor = None  # an old or edited link: the tab's first page
        page = g.api.booking.questions(status, limit=PAGE_SIZE)
    return render_template(
        "console/questions.html",
        questions=[_with_times(q) for q in page.items],
        status=status,
        tabs=TABS,
        next_cursor=page.next_cursor,
        later_page=cursor is not None,
    )


def _question(question_id: int) -> dict[str, Any]:
    try:
        return _with_times(g.api.booking.question(question_id))
    except ApiProblem as problem:
        if problem.status == 404:
            abort(404)
        raise


def _page(question_id: int, *, body: str = "", errors: dict[str, str] | None = None, status=200):
    question = _question(question_id)
    page = render_template(
        "console/question.html",
        q=question,
        body=body,
        errors=errors or {},
        body_max=BODY_MAX,
        done=DONE.get(request.args.get("done", "")),
    )
    return page, status


@blueprint.get("/questions/<int:question_id>")
def question(question_id: int):
    """The whole thread, a form to answer and a button to close it."""
    return _page(question_id)


@blueprint.post("/questions/<int:question_id>/answer")
def answer(question_id: int):
    """Answer; back to the thread (PRG), or the form again with the input kept."""
    body = (request.form.get("body") or "").strip()
    if not body or len(body) > BODY_MAX:
        return _page(question_id, body=body, errors=_body_error(), status=422)
    try:
        g.api.booking.answer_question(question_id, body)
    except ApiProblem as problem:
        if problem.status == 404:
            abort(404)
        if problem.code == "question_closed":
            return redirect(url_for(".question", question_id=question_id, done="already_closed"))
        if problem.status == 422:
            return _page(question_id, body=body, errors=_body_error(), status=422)
        raise
    return redirect(url_for(".question", question_id=question_id, done="answered"))


def _body_error() -> dict[str, str]:
    text = gettext(
        "Write the answer in plain text (no HTML), in at most %(n)d characters.", n=BODY_MAX
    )
    return {"answer-body": text}


@blueprint.post("/questions/<int:question_id>/close")
def close(question_id: int):
    """Close the thread without answering; back to the thread."""
    try:
        g.api.booking.close_question(question_id)
    except ApiProblem as problem:
        if problem.status == 404:
            abort(404)
        if problem.code == "question_closed":
            return redirect(url_for(".question", question_id=question_id, done="already_closed"))
        raise
    return redirect(url_for(".question", question_id=question_id, done="closed"))


def open_question_count() -> int | None:
    """The nav's badge: the signed-in person's open questions (None when booking is away, so
    a page never fails for its badge). Asked once per request."""
    if "person" not in g:
        return None
    if "open_questions" not in g:
        try:
            g.open_questions = g.api.booking.open_question_count()
        except (ApiProblem, ServiceCallFailed):
            g.open_questions = None
    return g.open_questions


def register(app: Flask, _limiter) -> None:
    app.register_blueprint(blueprint)
    app.jinja_env.globals["open_question_count"] = open_question_count
