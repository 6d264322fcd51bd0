"""Outgoing requests to addresses people type in are pinned to the public address that was
checked (shared.outbound): a second DNS answer can never send them inside the network.

The DNS answers are made up (no resolver runs here): socket.getaddrinfo is replaced for the
test's host names only. The HTTP server, the fetch and the webhook are real."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.booking import calendars
from services.notify import channels
from shared import outbound

REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture
def dns(monkeypatch):
    """dns["name"] = [addresses...]: answers for these names, one list per lookup in turn."""
    answers: dict[str, list[list[str]]] = {}
    lookups: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return REAL_GETADDRINFO(host, port, *args, **kwargs)
        lookups.append(host)
        queue = answers[host]
        current = queue.pop(0) if len(queue) > 1 else queue[0]
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (a, port or 0),
            )
            for a in current
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    answers["lookups"] = lookups  # type: ignore[assignment]
    return answers


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1 that records each request's Host header."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.headers["Host"])
            body = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nEND:VCALENDAR\r\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

        def log_message(self, *args):
            """No access log on the test's output."""

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], seen
    httpd.shutdown()


def test_a_name_that_resolves_inside_is_refused_for_calendars_and_webhooks(dns):
    dns["intranet.example"] = [["10.0.0.5"]]
    dns["mixed.example"] = [["93.184.216.34", "127.0.0.1"]]
    for host in ("intranet.example", "mixed.example", "127.0.0.1", "[::1]", "169.254.169.254"):
        with pytest.raises(outbound.RefusedAddress):
            outbound.pin(f"https://{host}/x.ics", allow_private=False)
        with pytest.raises(calendars.FetchFailed, match=r"(?i)loopback"):
            calendars.fetch(f"https://{host}/x.ics", etag=None, allow_private=False)
        with pytest.raises(channels.PermanentError, match="private address"):
            channels.send_webhook(
                url=f"https://{host}/hook",
                secret="whsec_" + "A" * 32,
                webhook_id="msg_1",
                event="test",
                payload={},
                occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
                allow_private=False,
            )


def test_the_request_goes_to_the_checked_address_even_if_dns_changes(dns, server):
    port, _seen = server
    # First answer public (it passes the check), every later one loopback (the rebinding).
    dns["calendar.example"] = [["93.184.216.34"], ["127.0.0.1"]]
    target = outbound.pin(f"http://calendar.example:{port}/me.ics", allow_private=False)
    assert target.url == f"http://93.184.216.34:{port}/me.ics"
    assert target.headers == {"Host": f"calendar.example:{port}"}
    assert target.extensions == {"sni_hostname": "calendar.example"}
    assert dns["lookups"] == ["calendar.example"]  # one lookup; httpx is given the address


def test_a_pinned_fetch_reaches_the_address_with_the_name_in_host(dns, server, monkeypatch):
    """Through a real server: the connection goes to the vetted address (here 127.0.0.1,
    admitted as public for this test only) and the server sees the name in Host."""
    port, seen = server
    dns["calendar.example"] = [["127.0.0.1"], ["10.9.9.9"]]
    monkeypatch.setattr(outbound, "is_public", lambda address: address == "127.0.0.1")
    fetched = calendars.fetch(
        f"http://calendar.example:{port}/me.ics", etag=None, allow_private=False
    )
    assert fetched.body.startswith(b"BEGIN:VCALENDAR")
    assert seen == [f"calendar.example:{port}"]
    assert dns["lookups"] == ["calendar.example"]
