"""The help center's FAQ under /api/v1/faq: anyone reads and searches it, admins write it."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from services.booking import schemas
from services.booking.operations import faq
from shared import db
from shared.api import Blueprint
from shared.auth import require

faq_blp = Blueprint(
    "faq", __name__, url_prefix="/api/v1", description="The help center's FAQ, per language"
)


@faq_blp.route("/faq")
class FaqCollection(MethodView):
    # An instance, not the class: webargs would build a schema per request (a hot path).
    @faq_blp.arguments(schemas.FaqQueryArgsSchema(), location="query")
    @faq_blp.response(200, schemas.FaqEntrySchema(many=True))
    @faq_blp.alt_response(429, response="TOO_MANY_REQUESTS")
    def get(self, args):
        """FAQ entries (no token needed): all, a language's, or a language's search results."""
        # Read-only, outside a transaction: one round trip on PostgreSQL, like /health.
        with db.read_session() as session:
            if "q" in args:
                body = faq.search_json(session=session, language=args["language"], q=args["q"])
            else:
                body = _ENTRIES.dumps(
                    faq.list_entries(session=session, language=args.get("language"))
                )
        return current_app.response_class(body, mimetype="application/json")

    @faq_blp.arguments(schemas.FaqEntryCreateSchema)
    @faq_blp.response(201, schemas.FaqEntrySchema)
    @require("admin")
    def post(self, data):
        """Add an FAQ entry."""
        return faq.create_entry(session=db.session(), **data)


_ENTRIES = schemas.FaqEntrySchema(many=True)


@faq_blp.route("/faq/<id:entry_id>")
class FaqItem(MethodView):
    @faq_blp.response(200, schemas.FaqEntrySchema)
    def get(self, entry_id):
        """One FAQ entry (no token needed)."""
        return faq.get_entry(session=db.session(), entry_id=entry_id)

    @faq_blp.arguments(schemas.FaqEntryCreateSchema)
    @faq_blp.response(200, schemas.FaqEntrySchema)
    @require("admin")
    def put(self, data, entry_id):
        """Replace an FAQ entry."""
        entry = faq.get_entry(session=db.session(), entry_id=entry_id)
        return faq.update_entry(session=db.session(), entry=entry, **data)

    @faq_blp.response(204)
    @require("admin")
    def delete(self, entry_id):
        """Remove an FAQ entry."""
        faq.delete_entry(
            session=db.session(), entry=faq.get_entry(session=db.session(), entry_id=entry_id)
        )
