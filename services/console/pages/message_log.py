"""Setup > Messages (admins): the messages notify could not deliver (failed, dead) with a
retry for each, and the webhook endpoints with a re-enable for those notify turned off."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, g, redirect, render_template, request, url_for

from services.console.errors import ApiProblem
from services.console.pages.access import page_blueprint

blueprint = page_blueprint("console_message_log", admin=True)

UNDELIVERED = ("failed", "dead")


def _with_times(message: dict[str, Any]) -> dict[str, Any]:
    last = message.get("last_attempt_at") or message.get("send_at")
    return {**message, "last_at": datetime.fromisoformat(last) if last else None}


@blueprint.get("/setup/messages")
def messages():
    """Undelivered messages, newest first, and the webhook endpoints."""
    found = [
        _with_times(m) for status in UNDELIVERED for m in g.api.notify.messages_with_status(status)
    ]
    found.sort(key=lambda m: m["id"], reverse=True)
    return render_template(
        "console/setup/messages.html",
        messages=found,
        endpoints=g.api.notify.webhook_endpoints(),
        done=request.args.get("done"),
    )


def _act(call, *args) -> str:
    """Make a notify call; 'ok', or 'conflict' when notify says it no longer applies."""
    try:
        call(*args)
    except ApiProblem as problem:
        if problem.status == 404:
            abort(404)
        if problem.status == 409:
            return "conflict"
        raise
    return "ok"


@blueprint.post("/setup/messages/<int:message_id>/retry")
def retry(message_id: int):
    """Put a failed or dead message back in notify's queue."""
    done = _act(g.api.notify.retry_message, message_id)
    return redirect(url_for("console_message_log.messages", done=f"retry-{done}"))


@blueprint.post("/setup/webhook-endpoints/<int:endpoint_id>/enable")
def enable_endpoint(endpoint_id: int):
    """Send to a disabled webhook endpoint again."""
    done = _act(g.api.notify.enable_webhook_endpoint, endpoint_id)
    return redirect(url_for("console_message_log.messages", done=f"enable-{done}"))
