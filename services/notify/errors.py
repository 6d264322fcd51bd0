"""Notify's domain errors, each with a stable machine code."""

from __future__ import annotations

from shared.errors import NotFound


class MessageNotFound(NotFound):
    code = "message_not_found"
    title = "No such message"


class EndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"
    title = "No such webhook endpoint"
