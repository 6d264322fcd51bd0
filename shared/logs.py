"""JSON-lines logging with a request id, and redaction of secrets in what is logged.

The request id is taken from `X-Request-ID` (when it looks sane) or made here, returned in the
response and passed on by the service client, so one story can be followed across services.
Logs carry ids, never tokens: URL path segments that look like tokens are redacted.
"""

from __future__ import annotations

import json
import logging
import random
import re
import sys
import time
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{6,128}$")
# Every token Frontdesk makes is `fd` + a letter + `_` + urlsafe characters (fda_, fds_, fdm_,
# fdf_, fdt_, fdc_, fdr_): redacted wherever it stands and whatever follows it (mail apps add
# `)`, `.`, `>` or `"`; a percent-encoded character may sit inside or after it).
_FD_TOKEN = re.compile(r"fd[a-z](?:_|%5[Ff])[A-Za-z0-9_%-]*")
# Anything long and random-looking in a path is a secret (feed, manage, signing, record tokens).
_TOKEN_SEGMENT = re.compile(r"(?<=/)[A-Za-z0-9_-]{20,}(?=(\.[a-z]{2,4})?(/|$|\?))")
_EMAIL = re.compile(r"[^\s@/]+@[^\s@/]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+\d{7,15}")


def redact(text: str) -> str:
    """Remove tokens, email addresses and phone numbers from a string meant for logs.

    Each pattern runs only on text holding what it cannot match without (every request's
    access line is redacted field by field and whole)."""
    if "fd" in text:
        text = _FD_TOKEN.sub("[redacted]", text)
    if "/" in text:
        text = _TOKEN_SEGMENT.sub("[redacted]", text)
    if "@" in text:
        text = _EMAIL.sub("[email]", text)
    if "+" in text:
        text = _PHONE.sub("[phone]", text)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras."""

    _skip = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if has_request_context():
            entry["request_id"] = g.get("request_id")
            entry["service"] = g.get("service_name")
        for key, value in record.__dict__.items():
            if key not in self._skip and not key.startswith("_"):
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        # Redact the whole line too, so values nested in extras are covered.
        return redact(json.dumps(entry, default=str))


def configure_logging(level: str = "INFO") -> None:
    """Send the `frontdesk` loggers to stderr as JSON lines (idempotent)."""
    root = logging.getLogger("frontdesk")
    root.setLevel(level.upper())
    if not any(getattr(h, "_frontdesk", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._frontdesk = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.propagate = False


def current_request_id() -> str | None:
    """The id of the request being served, if any."""
    return g.get("request_id") if has_request_context() else None


def init_app(app: Flask) -> None:
    """Take or make the request id, echo it, and log one access line per request."""
    configure_logging(app.config.get("LOG_LEVEL", "INFO"))
    access = logging.getLogger("frontdesk.access")

    @app.before_request
    def _start():
        incoming = request.environ.get("HTTP_X_REQUEST_ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else f"{random.getrandbits(64):016x}"
        g.service_name = app.config.get("SERVICE_NAME")
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        started = g.get("request_started")
        if started is not None and access.isEnabledFor(logging.INFO):
            access.info(
                "request",
                extra={
                    "method": request.method,
                    "path": redact(request.script_root + request.path),
                    "status": response.status_code,
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
        return response
