"""notify's REST API under /api/v1: thin resources that parse, check access and call operations."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask.views import MethodView

from services.notify import api_examples, operations, privacy
from services.notify.models import ApiToken
from services.notify.schemas import (
    MESSAGE_BODY_DOCS,
    CancelResultSchema,
    MessageCreateSchema,
    MessageQueryArgsSchema,
    MessageSchema,
    WebhookEndpointSchema,
)
from shared import db
from shared.api import Blueprint, whoami_blueprint
from shared.auth import current_principal, require, token_blueprint
from shared.db import utcnow
from shared.idempotency import fingerprint, key_from_request
from shared.privacy import privacy_blueprint

blp = Blueprint(
    "messages",
    __name__,
    url_prefix="/api/v1",
    description="The outbox: email, SMS and signed webhooks",
)


_LIST_DOC = (
    "The messages, each with its delivery attempts. A staff token lists only the messages "
    "sent with its own `staff_id` (booking and consent set it, with `appointment_id`, on every "
    "message about an appointment or a consent request): another staff member's appointment "
    "or id lists nothing, as one without messages does."
)
_RETRY_DOC = (
    "The message, back in the queue (`scheduled`, due now, `retried_at` set). It keeps its "
    "attempt count, so a dead message gets one more try. A repeat while it waits for that try "
    "answers the same and changes nothing; a message that is not failed or dead is a 409 "
    "`message_not_retryable`."
)


@blp.route("/messages")
class Messages(MethodView):
    # An instance: not built again per message.
    @blp.arguments(MessageCreateSchema(), examples=api_examples.SEND_MESSAGE)
    @blp.doc(requestBody={"content": {"application/json": {"schema": MESSAGE_BODY_DOCS}}})
    @blp.response(201, MessageSchema, example=api_examples.MESSAGE)
    @blp.alt_response(200, schema=MessageSchema, description="Replay of an Idempotency-Key")
    @require("service", "admin")
    def post(self, fields: dict[str, Any]):
        """Queue a message (201), or return the first one for a repeated Idempotency-Key (200)."""
        message, created = operations.create_message(
            session=db.session(),
            fields=fields,
            # Not scoped to the caller (shared.idempotency.caller_key): only the suite and its
            # admins post here, a replay shows no content, and privacy export finds a client's
            # messages by the keys booking sent them with.
            idempotency_key=key_from_request(),
            fingerprint=fingerprint(request.get_json(silent=True)),
            mail_from=current_app.config["MAIL_FROM"],
        )
        return message, 201 if created else 200

    @blp.arguments(MessageQueryArgsSchema, location="query")
    @blp.response(
        200,
        MessageSchema(many=True),
        example=[api_examples.FAILED_MESSAGE],
        description=_LIST_DOC,
    )
    @require("service", "admin", "staff")
    def get(self, args: dict[str, Any]):
        """List messages, oldest first, by group, status, template, appointments, staff member."""
        principal = current_principal()
        staff_id = args.get("staff_id")
        if principal.role == "staff":
            if staff_id not in (None, principal.staff_id):
                return []
            staff_id = principal.staff_id
        return operations.list_messages(
            session=db.session(),
            group=args.get("group"),
            status=args.get("status"),
            template=args.get("template"),
            appointment_ids=args.get("appointment_id"),
            staff_id=staff_id,
            limit=args["limit"],
        )


@blp.route("/messages/<int:message_id>")
class MessageById(MethodView):
    @blp.response(200, MessageSchema)
    @require("service", "admin")
    def get(self, message_id: int):
        """A message with its status and every delivery attempt."""
        return operations.get_message(session=db.session(), message_id=message_id)


@blp.route("/messages/<int:message_id>/retry")
class MessageRetry(MethodView):
    @blp.response(200, MessageSchema, example=api_examples.RETRIED_MESSAGE, description=_RETRY_DOC)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @require("admin")
    def post(self, message_id: int):
        """Put a failed or dead message back in the queue, due now (a repeat changes nothing)."""
        return operations.retry_message(session=db.session(), message_id=message_id, now=utcnow())


@blp.route("/groups/<path:group>/cancel")
class GroupCancel(MethodView):
    @blp.response(200, CancelResultSchema)
    @require("service", "admin")
    def post(self, group: str):
        """Cancel the group's messages that are not sent yet."""
        return {"cancelled": operations.cancel_group(session=db.session(), group=group)}


@blp.route("/webhook-endpoints")
class WebhookEndpoints(MethodView):
    @blp.response(200, WebhookEndpointSchema(many=True))
    @require("admin")
    def get(self):
        """Every webhook receiver, and whether it is disabled (it answered 410 Gone)."""
        return operations.list_endpoints(session=db.session())


@blp.route("/webhook-endpoints/<int:endpoint_id>/enable")
class WebhookEndpointEnable(MethodView):
    @blp.response(200, WebhookEndpointSchema)
    @require("admin")
    def post(self, endpoint_id: int):
        """Send to a disabled receiver again (new messages; failed ones stay failed)."""
        return operations.enable_endpoint(session=db.session(), endpoint_id=endpoint_id)


def blueprints() -> list[Blueprint]:
    """Every API blueprint of the service, in registration order."""
    return [
        whoami_blueprint(),
        blp,
        privacy_blueprint(export=privacy.export_client, erase=privacy.erase_client),
        token_blueprint(ApiToken),
    ]
