"""Test helpers: per-service test databases (SQLite or PostgreSQL), cleaning, tokens, SMTP sink,
an HTTP stand-in for the SMS provider.

Set FRONTDESK_TEST_DATABASE_URL to a PostgreSQL URL to run the suite there: each service gets
its own database named `<db>_<service>`, migrated once per run and emptied after every test.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import sqlalchemy as sa

from shared import auth
from shared.db import Database, create_engine

TEST_DATABASE_ENV = "FRONTDESK_TEST_DATABASE_URL"


def test_database_url(service: str, tmp_dir: Path) -> str:
    """The database URL a test run uses for a service (created empty)."""
    base = os.environ.get(TEST_DATABASE_ENV)
    if not base:
        return f"sqlite:///{tmp_dir / f'{service}.db'}"
    url = sa.make_url(base)
    name = f"{url.database}_{service}"
    admin = create_engine(
        url.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def clean_database(database: Database, metadata: sa.MetaData) -> None:
    """Empty every table of a service (keeps the schema and the migration version)."""
    tables = [t for t in reversed(metadata.sorted_tables)]
    with database.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            if names:
                connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())


@contextlib.contextmanager
def statements_run(engine: sa.Engine) -> Iterator[list[str]]:
    """Collect the SQL statements `engine` sends inside the block (query counts in tests)."""
    statements: list[str] = []

    def collect(_connection, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", collect)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", collect)


def make_token(database: Database, model: type, role: str, staff_id: int | None = None) -> str:
    """Create a token of `role` in one service's database and return it."""
    with database.transaction() as session:
        return auth.create_token(
            session=session, model=model, role=role, staff_id=staff_id, name="test"
        )


@dataclass
class SmtpSink:
    """An aiosmtpd server in the test process that keeps every message it receives."""

    host: str = "127.0.0.1"
    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list = field(default_factory=list)
    # A list of SMTP reply strings to give instead of accepting, consumed one per message.
    replies: list[str] = field(default_factory=list)
    received: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        if self.replies:
            return self.replies.pop(0)
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.received:
            self.messages.append(message)
            self.envelopes.append(envelope)
            self.received.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Block until `count` messages arrived (or fail after `timeout`)."""
        with self.received:
            ok = self.received.wait_for(lambda: len(self.messages) >= count, timeout)
        assert ok, f"expected {count} messages, got {len(self.messages)}"
        return self.messages

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"


def smtp_sink() -> Iterator[SmtpSink]:
    """Run an SmtpSink on a free port for the duration of the generator."""
    import socket

    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    # aiosmtpd's Controller probes the port it was given, so it needs a real one, not 0.
    with socket.socket() as probe:
        probe.bind((sink.host, 0))
        sink.port = probe.getsockname()[1]
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


# --- real HTTP receivers: an SMS provider's stand-in (Twilio's REST API), webhooks


class RecordingServer:
    """A real HTTP server in a thread; `answers` are (status, headers) given in turn (then 2xx)."""

    def __init__(self, handle) -> None:
        self.requests: list[dict] = []
        self.answers: list[tuple[int, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, headers, reply = handle(outer, self, body)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def next_answer(self, default: int) -> tuple[int, dict[str, str]]:
        return self.answers.pop(0) if self.answers else (default, {})

    @property
    def twilio_url(self) -> str:
        """FRONTDESK_SMS_URL for notify to send through this server as twilio_handler."""
        return f"twilio://ACtest:secret-token@127.0.0.1:{self.port}/+15005550006"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- a Twilio stand-in: POST /2010-04-01/Accounts/{sid}/Messages.json, basic auth, form body


def twilio_handler(server, request, body):
    expected = "Basic " + base64.b64encode(b"ACtest:secret-token").decode()
    if request.path != "/2010-04-01/Accounts/ACtest/Messages.json":
        return 404, {}, b'{"code": 20404, "message": "not found", "status": 404}'
    if request.headers.get("Authorization") != expected:
        return 401, {}, b'{"code": 20003, "message": "Authenticate", "status": 401}'
    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    status, headers = server.next_answer(201)
    if status >= 400:
        reply = {"code": 21211, "message": "Invalid 'To' Phone Number", "status": status}
        return status, headers, json.dumps(reply).encode()
    server.requests.append(form)
    reply = {"sid": f"SM{len(server.requests):032d}", "status": "queued", **form}
    return 201, {}, json.dumps(reply).encode()
