"""No token reaches a log line, whatever a mail app or a visitor puts after it in the URL.

Real requests (the apps through the test client, and gunicorn's access log through a real
gunicorn) with the token followed by punctuation, an encoded character, an upper-case
extension or a query; every emitted line is scanned for the token.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shared.logs import JsonFormatter

ROOT = Path(__file__).resolve().parents[2]

# What follows the token: punctuation mail apps add, encoded characters, extensions, queries.
SUFFIXES = (
    ")",
    ".",
    ">",
    '"',
    "'",
    ",",
    ";",
    "]",
    "!",
    "%00",
    "%29",
    "%3E",
    "%22",
    "%20",
    "%E2%80%A6",
    ".PDF",
    ".Pdf",
    ").",
    "/",
    "/cancel)",
    "?ref=mail",
    "%3Fx=1",
)


def variants(path: str, token: str) -> list[str]:
    """`path` (holding `{t}`) with the token followed by each suffix, and in the query."""
    urls = [path.format(t=token + suffix) for suffix in SUFFIXES]
    urls += [
        path.format(t=token) + f"?token={token})",
        "/?next=" + path.format(t=token).replace("/", "%2F") + "%29",
    ]
    return urls


def leaked(lines: list[str], tokens: list[str]) -> list[str]:
    """The lines that hold a token, or a long piece of one."""
    return [line for line in lines for token in tokens if token[4:16] in line]


@pytest.fixture
def emitted():
    """The lines the apps' JSON formatter writes during the test."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep()
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("frontdesk")
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)


def test_tokens_followed_by_punctuation_or_a_query_never_reach_the_json_log(
    booking_app, consent_app, book_api, feed_token, make_signing_link, emitted
):
    manage = book_api(10)["manage_token"]
    _, signing = make_signing_link()
    record = f"fdr_{secrets.token_urlsafe(32)}"
    requests = {
        booking_app: [
            *variants("/manage/{t}", manage),
            *variants("/api/v1/manage/{t}", manage),
            *variants("/feeds/{t}.ics", feed_token),
            *variants("/feeds/{t}", feed_token),
        ],
        consent_app: [
            *variants("/sign/{t}", signing),
            *variants("/api/v1/sign/{t}", signing),
            *variants("/records/{t}", record),
            *variants("/records/{t}.pdf", record),
        ],
    }
    emitted.clear()
    sent = 0
    for app, urls in requests.items():
        client = app.test_client()
        for url in urls:
            status = client.get(url).status_code
            assert status < 500, url
            sent += 1
    # Consent's pages also ask booking for the organization's profile (a public call, no token).
    access = [
        line
        for line in emitted
        if '"frontdesk.access"' in line and '"path": "/booking/api/v1/organization"' not in line
    ]
    assert len(access) == sent  # every request was logged, so every line was checked
    assert leaked(emitted, [manage, feed_token, signing, record]) == []
    assert [line for line in access if "[redacted]" not in line and '"path": "/"' not in line] == []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def raw_get(port: int, target: str) -> None:
    """Send a request line as given (no client re-encodes `"` or `>`) and read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        while sock.recv(65536):
            pass


def test_gunicorn_access_log_redacts_tokens_followed_by_punctuation(database_urls, tmp_path):
    port = free_port()
    manage = f"fdm_{secrets.token_hex(24)}"
    feed = f"fdf_{secrets.token_urlsafe(32)}"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FRONTDESK_SERVICE": "notify",
        "FRONTDESK_NOTIFY_DATABASE_URL": database_urls["notify"],
        "FRONTDESK_SECRET_KEY": secrets.token_urlsafe(32),
        "FRONTDESK_INSTANCE_DIR": str(tmp_path),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "WEB_CONCURRENCY": "1",
    }
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(ROOT / "deploy" / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{port}",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, log.read_text()
                try:
                    httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                    break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.2)
            urls = [
                *variants("/booking/manage/{t}", manage),
                *variants("/booking/feeds/{t}.ics", feed),
            ]
            for url in urls:
                raw_get(port, url)
            deadline = time.monotonic() + 10
            while log.read_text().count('"method": "GET"') < len(urls) + 1:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.1)
        finally:
            process.terminate()
            process.wait(timeout=30)
    lines = log.read_text().splitlines()
    assert leaked(lines, [manage, feed]) == []


def render_nginx():
    """deploy/render_nginx.py as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location(
        "render_nginx", ROOT / "deploy" / "render_nginx.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_nginx_access_log_redacts_tokens_followed_by_punctuation(tmp_path):
    port, upstream = free_port(), free_port()  # nothing listens upstream: every answer a 502
    main_conf = render_nginx().write_standalone(
        tmp_path,
        {
            "NGINX_LISTEN": f"127.0.0.1:{port}",
            "NGINX_SERVER_NAME": "x",
            "NGINX_BOOKING_SERVERS": f"server 127.0.0.1:{upstream};",
            "NGINX_CONSENT_SERVERS": f"server 127.0.0.1:{upstream};",
            "NGINX_CONSOLE_SERVERS": f"server 127.0.0.1:{upstream};",
        },
    )
    manage = f"fdm_{secrets.token_hex(24)}"
    signing = f"fdc_{secrets.token_urlsafe(32)}"
    urls = [
        *variants("/booking/manage/{t}", manage),
        *variants("/consent/sign/{t}", signing),
        *variants("/consent/sign/{t}" + f"/{manage}", signing),
    ]
    nginx = subprocess.Popen(
        ["nginx", "-p", str(tmp_path), "-c", str(main_conf), "-e", str(tmp_path / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                raw_get(port, "/booking/health")
                break
            except OSError:
                assert nginx.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        for url in urls:
            raw_get(port, url)
    finally:
        nginx.terminate()
        nginx.wait(timeout=20)
    lines = (tmp_path / "access.log").read_text().splitlines()
    assert len(lines) == len(urls) + 1
    assert leaked(lines, [manage, signing]) == []
