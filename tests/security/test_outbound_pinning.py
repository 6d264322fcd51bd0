"""Outgoing requests to addresses people type in are pinned to the public address that was
checked (shared.outbound): a second DNS answer can never send them inside the network.

The DNS answers are made up (no resolver runs here): socket.getaddrinfo is replaced for the
test's host names only. The HTTP server, the fetch and the webhook are real."""

from __future__ import annotations

import re
import socket
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.booking.operations import calendars
from services.notify import channels
from shared import outbound

REAL_GETADDRINFO = socket.getaddrinfo
REFUSED = re.escape(outbound.REFUSED)


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
        with pytest.raises(calendars.FetchFailed, match=REFUSED):
            calendars.fetch(f"https://{host}/x.ics", etag=None, allow_private=False)
        with pytest.raises(channels.PermanentError, match=REFUSED):
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


EMBEDDING_INSIDE = [
    "64:ff9b::127.0.0.1",  # NAT64 well-known prefix -> loopback
    "64:ff9b::a00:5",  # NAT64 -> 10.0.0.5
    "64:ff9b:1::a9fe:a9fe",  # local-use NAT64 -> 169.254.169.254
    "2002:7f00:1::1",  # 6to4 -> 127.0.0.1
    "2002:c0a8:101::",  # 6to4 -> 192.168.1.1
    "::127.0.0.1",  # IPv4-compatible
    "::10.0.0.5",
    "::ffff:10.0.0.5",  # IPv4-mapped
]


@pytest.mark.parametrize("address", EMBEDDING_INSIDE)
def test_ipv6_forms_that_embed_an_inside_ipv4_address_are_not_public(address):
    assert not outbound.is_public(address)


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "2606:4700::1111"])
def test_ipv6_forms_that_embed_a_public_ipv4_address_stay_public(address):
    assert outbound.is_public(address)


@pytest.mark.parametrize("address", EMBEDDING_INSIDE)
def test_calendars_and_webhooks_refuse_embedded_inside_addresses_literal_or_resolved(
    dns, booking_app, notify_app, address
):
    dns["nat64.example"] = [[address]]
    for url in (f"https://[{address}]/x", "https://nat64.example/x"):
        with pytest.raises(calendars.FetchFailed, match=REFUSED):
            calendars.fetch(url, etag=None, allow_private=False)
        with pytest.raises(channels.PermanentError, match=REFUSED):
            channels.send_webhook(
                url=url,
                secret="whsec_" + "A" * 32,
                webhook_id="msg_1",
                event="test",
                payload={},
                occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
                allow_private=False,
            )
    literal = f"https://[{address}]/x.ics"
    assert calendars.url_problem(literal, allow_private=False, public_url="") == outbound.REFUSED


def test_every_refused_calendar_url_gets_the_same_error(dns):
    """Whether a name is unknown, resolves inside, or is a private literal, the staff member
    adding it reads the same words: the answers cannot map the inside network."""
    dns["intranet.example"] = [["10.0.0.5"]]
    seen = set()
    for url in (
        "https://intranet.example/x.ics",
        "https://no-such-host.invalid/x.ics",
        "https://10.0.0.5/x.ics",
        "https://[64:ff9b::a00:5]/x.ics",
        "https://localhost/x.ics",
    ):
        with pytest.raises(calendars.FetchFailed) as failed:
            calendars.fetch(url, etag=None, allow_private=False)
        seen.add(str(failed.value))
    assert seen == {outbound.REFUSED}
    with pytest.raises(channels.TransientError, match=REFUSED):
        channels.send_webhook(
            url="https://no-such-host.invalid/hook",
            secret="whsec_" + "A" * 32,
            webhook_id="msg_1",
            event="test",
            payload={},
            occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
            allow_private=False,
        )


@pytest.mark.parametrize("to", ["http://[64:ff9b::7f00:1]/hook", "http://[2002:a00:1::]/hook"])
def test_a_webhook_message_to_an_embedded_inside_address_is_422_with_the_one_error(
    notify_app, service_token, to
):
    body = {
        "channel": "webhook",
        "to": to,
        "event": "appointment.completed",
        "payload": {"appointment_id": 42},
        "webhook_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    }
    response = notify_app.test_client().post(
        "/api/v1/messages", json=body, headers={"Authorization": f"Bearer {service_token}"}
    )
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"]["to"] == [outbound.REFUSED]
