"""'Ask us' under /api/v1/questions: staff see clients' questions and answer them.

Staff see the questions about their own appointments and the untied ones (asked from the help
center: nobody in particular owns them); admins see all. Others answer 404, so ids cannot be
probed. Clients ask and reply on the pages, behind their thread's token.
"""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from services.booking import schemas
from services.booking.operations import questions
from shared import db
from shared.api import Blueprint
from shared.auth import current_principal, require

questions_blp = Blueprint(
    "questions", __name__, url_prefix="/api/v1", description="Clients' questions ('ask us')"
)


def _staff_scope() -> int | None:
    """The staff member whose questions the caller sees (None: every question)."""
    principal = current_principal()
    return principal.staff_id if principal.role == "staff" else None


NEXT_LINK = {
    "description": 'The next page, when there is one: `<URL>; rel="next"` (RFC 8288), the same '
    "query with its `cursor`. No header: this is the last page.",
    "schema": {"type": "string"},
}


@questions_blp.route("/questions")
class QuestionCollection(MethodView):
    @questions_blp.arguments(schemas.QuestionQueryArgsSchema(), location="query")
    @questions_blp.response(
        200,
        schemas.QuestionSchema(many=True),
        description="One page (`limit`) of the questions; the next page's URL in `Link`.",
        headers={"Link": NEXT_LINK},
    )
    @require("staff", "admin")
    def get(self, args):
        """Questions the caller may answer, a page at a time (?status=open: those waiting,
        never answered first, then oldest first; answered or closed: the most recently updated
        first; no status: oldest first). Follow the `Link: rel="next"` header for the next page:
        its cursor starts after this page's last question, so new questions never shift it."""
        status = args.get("status")
        page = questions.list_questions(
            session=db.session(),
            staff_id=_staff_scope(),
            status=status,
            limit=args["limit"],
            cursor=args.get("cursor"),
        )
        if page.next_cursor is None:
            return page.items
        query = {"status": status, "limit": args["limit"], "cursor": page.next_cursor}
        url = url_for("questions.QuestionCollection", _external=True, **query)
        return page.items, {"Link": f'<{url}>; rel="next"'}


@questions_blp.route("/questions/open-count")
class QuestionOpenCount(MethodView):
    @questions_blp.response(200, schemas.QuestionCountSchema)
    @require("staff", "admin")
    def get(self):
        """How many questions the caller may see wait for an answer (the console's nav badge)."""
        count = questions.count_open(session=db.session(), staff_id=_staff_scope())
        return {"open": count}


@questions_blp.route("/questions/<id:question_id>")
class QuestionItem(MethodView):
    @questions_blp.response(200, schemas.QuestionSchema)
    @require("staff", "admin")
    def get(self, question_id):
        """One question and its whole thread (another staff member's answers 404)."""
        return questions.get_question(
            session=db.session(), question_id=question_id, staff_id=_staff_scope()
        )


@questions_blp.route("/questions/<id:question_id>/answers")
class QuestionAnswers(MethodView):
    @questions_blp.arguments(schemas.QuestionAnswerCreateSchema)
    @questions_blp.response(201, schemas.QuestionSchema)
    @require("staff", "admin")
    def post(self, data, question_id):
        """Answer a question: the client gets a link to the thread by their channel."""
        session = db.session()
        question = questions.get_question(
            session=session, question_id=question_id, staff_id=_staff_scope()
        )
        questions.answer(
            session=session,
            question=question,
            staff_id=current_principal().staff_id,
            body=data["body"],
        )
        return question


@questions_blp.route("/questions/<id:question_id>/close")
class QuestionClose(MethodView):
    @questions_blp.response(200, schemas.QuestionSchema)
    @questions_blp.alt_response(409, response="CONFLICT")
    @require("staff", "admin")
    def post(self, question_id):
        """Close a thread without answering (spam, or handled by phone): the client's thread
        page says it is closed and takes no more replies. 409 question_closed if it is already."""
        session = db.session()
        question = questions.get_question(
            session=session, question_id=question_id, staff_id=_staff_scope()
        )
        return questions.close(session=session, question=question)
