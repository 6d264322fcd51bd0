"""Notify's domain errors, each with a stable machine code."""

from __future__ import annotations

from shared.errors import Conflict, NotFound


class MessageNotFound(NotFound):
    code = "message_not_found"
    title = "No such message"


class EndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"
    title = "No such webhook endpoint"


class MessageNotRetryable(Conflict):
    code = "message_not_retryable"
    title = "Only failed or dead messages are retried"
