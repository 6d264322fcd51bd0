"""WSGI entry points for production: one service per gunicorn, e.g. `frontdesk.wsgi:booking`.

Each app is built on first access from the `FRONTDESK_*` environment, so importing this module
for one service never builds (or connects) the other two. The JSON access logger for gunicorn
lives here too (deploy/gunicorn.conf.py names it).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from flask import Flask
from gunicorn.errors import AppImportError
from gunicorn.glogging import Logger

from frontdesk.suite import SERVICES
from shared.config import ConfigError, load_config, require_strong_secret_key
from shared.logs import redact


def __getattr__(name: str) -> Flask:
    """Build `booking`, `consent` or `notify` from the environment on first access.

    A production app refuses a weak secret key; AppImportError makes gunicorn print why and
    stop, rather than restart the worker forever."""
    if name not in SERVICES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        require_strong_secret_key(load_config(name)["SECRET_KEY"])
    except ConfigError as exc:
        raise AppImportError(str(exc)) from exc
    app = SERVICES[name]()
    globals()[name] = app
    return app


class JsonAccessLogger(Logger):
    """gunicorn's logger with one JSON object per request; tokens redacted wherever they are.

    The query string is left out: links may carry tokens there too.
    """

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "remote": environ.get("REMOTE_ADDR"),
            "method": environ.get("REQUEST_METHOD"),
            "path": redact(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")),
            "status": int(status),
            "bytes": getattr(resp, "sent", None),
            "ms": round(request_time.total_seconds() * 1000, 2),
            "request_id": _header(resp.headers, "x-request-id"),
            "user_agent": environ.get("HTTP_USER_AGENT"),
        }
        # And the whole line: a client may put a token in any header it sends.
        self.access_log.info(redact(json.dumps(entry)))


def _header(headers, name: str) -> str | None:
    """A response header's value from gunicorn's list of (name, value) pairs."""
    return next((value for key, value in headers if key.lower() == name), None)
