"""The production stack as real processes: PostgreSQL databases, gunicorn per service, nginx,
an SMTP sink, a webhook receiver and the workers. Used by tests/e2e/conftest.py.

Every process runs in its own session (process group) and is stopped with its children when
the stack stops, whatever happened before.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import importlib.util
import json
import mailbox
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
E2E_DATABASE_ENV = "FRONTDESK_E2E_DATABASE_URL"
DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/e2e"
SERVICES = ("booking", "consent", "notify", "console")


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], Any], *, timeout: float, what: str, step: float = 0.1):
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(step)


def load_render_nginx():
    """deploy/render_nginx.py as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location(
        "render_nginx", ROOT / "deploy" / "render_nginx.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Process:
    """One started process: how to start it again, and its log file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


class Processes:
    """Start named processes, each in its own process group; stop them all (always)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: dict[str, Process] = {}
        atexit.register(self.stop_all)
        # A CI timeout sends SIGTERM: stop the run like Ctrl-C, so the fixture's cleanup runs.
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _interrupt_on_sigterm)

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> Process:
        proc = self.procs.get(name) or Process(name, argv, env, self.log_dir / f"{name}.log")
        self.procs[name] = proc
        with proc.log_path.open("ab") as log:
            proc.popen = subprocess.Popen(
                proc.argv,
                env=proc.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        return proc

    def restart(self, name: str) -> Process:
        """Start a stopped process again with its first command and environment."""
        return self.start(name, self.procs[name].argv, self.procs[name].env)

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        """Send `sig` to the process group, then SIGKILL whatever is left after `timeout`."""
        popen = self.procs[name].popen
        if popen is None or popen.poll() is not None:
            return
        try:
            os.killpg(popen.pid, sig)
            popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGKILL)  # children a graceful stop left behind
        popen.wait(timeout=timeout)

    def stop_all(self) -> None:
        for name in reversed(list(self.procs)):
            self.stop(name)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def check_alive(self, name: str) -> None:
        proc = self.procs[name]
        assert proc.alive, f"{name} exited with {proc.popen.returncode}:\n{proc.log()[-4000:]}"


def _interrupt_on_sigterm(signum, frame) -> None:
    """Stop the test run as Ctrl-C would, so teardown runs; more SIGTERMs wait for its end."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def _die_with_parent() -> None:
    """In the child before exec: get SIGKILL if the test process dies without cleaning up."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def recreate_database(base_url: str, name: str) -> str:
    """Drop and create one PostgreSQL database; return its URL."""
    url = sa.make_url(base_url)
    admin = sa.create_engine(
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


def make_signing_p12(folder: Path, org_name: str, password: str) -> tuple[Path, Path]:
    """A private root CA and a signing certificate it issued (non-repudiation), as PKCS#12.

    Returns the PKCS#12 file and the root certificate (PEM) validators are given as trust.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)

    def name(common: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, org_name),
                x509.NameAttribute(NameOID.COMMON_NAME, common),
            ]
        )

    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = (
        x509.CertificateBuilder()
        .subject_name(name("e2e root CA"))
        .issuer_name(name("e2e root CA"))
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name(f"{org_name} records"))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=180))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .sign(root_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    p12 = folder / "signing.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"records", key, leaf, [root], serialization.BestAvailableEncryption(password.encode())
        )
    )
    root_pem = folder / "root.pem"
    root_pem.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    return p12, root_pem


class _FormParser(HTMLParser):
    """Collects the action and the named inputs of every POST form of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "form" and attributes.get("method", "get").lower() == "post":
            self.forms.append((attributes.get("action", ""), {}))
        elif tag in ("input", "button") and self.forms and attributes.get("name"):
            kind = attributes.get("type", "text")
            if kind in ("hidden", "text", "email", "tel") or attributes.get("checked") is not None:
                self.forms[-1][1][attributes["name"]] = attributes.get("value", "")


def post_forms(html: str) -> list[tuple[str, dict[str, str]]]:
    """(action, {name: value}) of each POST form in an HTML page, as a browser would send it."""
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


@dataclass
class Mailbox:
    """The maildir the aiosmtpd sink process writes every received message into."""

    path: Path

    def messages(self) -> list[EmailMessage]:
        if not (self.path / "new").exists():
            return []
        box = mailbox.Maildir(self.path, create=False)
        # Maildir names start with the delivery time: sorted names are arrival order.
        return [
            message_from_bytes(box.get_bytes(key), policy=policy.default)
            for key in sorted(box.iterkeys())
        ]

    def wait_for(self, count: int, timeout: float = 30) -> list[EmailMessage]:
        return wait_until(
            lambda: (found := self.messages()) and len(found) >= count and found,
            timeout=timeout,
            what=f"{count} message(s) in the SMTP sink",
        )


@dataclass
class WebhookLog:
    """What the webhook receiver process got: one JSON object per request."""

    path: Path

    def requests(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]

    def wait_for(self, count: int, timeout: float = 30) -> list[dict]:
        return wait_until(
            lambda: len(found := self.requests()) >= count and found,
            timeout=timeout,
            what=f"{count} webhook request(s)",
        )


@dataclass
class Stack:
    """The running deployment, as the tests see it."""

    public_url: str  # nginx: the only door for clients
    instances: dict[str, str]  # gunicorn instance name -> its internal base URL
    admin_token: str
    service_token: str
    mail: Mailbox
    webhooks: WebhookLog
    webhook_url: str
    processes: Processes
    nginx_dir: Path
    database_urls: dict[str, str]
    env: dict[str, str]
    signing_root: Path
    workers: list[str] = field(default_factory=list)

    def public(self, **kwargs) -> httpx.Client:
        """An HTTP client for the public side (through nginx)."""
        return httpx.Client(base_url=self.public_url, timeout=30, **kwargs)

    def frontdesk(self, *args: str) -> str:
        """Run the `frontdesk` command with the stack's environment; return its stdout."""
        result = subprocess.run(
            [str(BIN / "frontdesk"), *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"frontdesk {' '.join(args)}:\n{result.stderr}"
        return result.stdout

    def wait_healthy(self, instance: str, timeout: float = 60) -> None:
        url = f"{self.instances[instance]}/health"

        def healthy() -> bool:
            self.processes.check_alive(instance)
            try:
                return httpx.get(url, timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, timeout=timeout, what=f"{instance} to answer /health")


def gunicorn_instances() -> dict[str, str]:
    """Instance name -> service: two booking instances behind nginx, one of each other."""
    return {
        "booking-1": "booking",
        "booking-2": "booking",
        "consent": "consent",
        "notify": "notify",
        "console": "console",
    }


def start_stack(tmp: Path, processes: Processes) -> Stack:
    """Create the databases, migrate, make tokens and start every process; return the Stack."""
    from frontdesk.workers import WORKERS

    base = os.environ.get(E2E_DATABASE_ENV, DEFAULT_DATABASE)
    base_name = sa.make_url(base).database
    database_urls = {s: recreate_database(base, f"{base_name}_{s}") for s in SERVICES}

    ports = {name: free_port() for name in [*gunicorn_instances(), "nginx", "smtp", "webhook"]}
    public_url = f"http://127.0.0.1:{ports['nginx']}"
    webhook_url = f"http://127.0.0.1:{ports['webhook']}/billing"
    instance_dir = tmp / "instance"
    instance_dir.mkdir()
    p12, signing_root = make_signing_p12(tmp / "signing", "Maple Community Services", "e2e-p12")
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FRONTDESK_", "PROMETHEUS_", "GUNICORN_", "WEB_CONCURRENCY"))
    }
    env = {
        **inherited,
        "FRONTDESK_SECRET_KEY": "e2e-secret-key-not-for-production",
        **{f"FRONTDESK_{s.upper()}_DATABASE_URL": url for s, url in database_urls.items()},
        "FRONTDESK_PUBLIC_URL": public_url,
        # Internal calls to booking and consent go through nginx too, so they survive the
        # loss of one booking instance; notify is reached directly (nginx never exposes it).
        "FRONTDESK_BOOKING_URL": f"{public_url}/booking",
        "FRONTDESK_CONSENT_URL": f"{public_url}/consent",
        "FRONTDESK_NOTIFY_URL": f"http://127.0.0.1:{ports['notify']}",
        "FRONTDESK_TRUSTED_PROXIES": "1",
        "FRONTDESK_INSTANCE_DIR": str(instance_dir),
        "FRONTDESK_SMTP_URL": f"smtp://127.0.0.1:{ports['smtp']}",
        "FRONTDESK_MAIL_FROM": "Maple Community Services <frontdesk@maple.example>",
        "FRONTDESK_SMS_URL": f"file://{tmp / 'sms'}",
        "FRONTDESK_BILLING_WEBHOOK_URL": webhook_url,
        "FRONTDESK_BILLING_WEBHOOK_SECRET": "whsec_ZTJlLXdlYmhvb2stc2VjcmV0LWZvci10ZXN0cw==",
        "FRONTDESK_ALLOW_PRIVATE_WEBHOOKS": "1",
        "FRONTDESK_ORG_NAME": "Maple Community Services",
        "FRONTDESK_SIGNING_P12": str(p12),
        "FRONTDESK_SIGNING_P12_PASSWORD": "e2e-p12",
    }
    stack = Stack(
        public_url=public_url,
        instances={name: f"http://127.0.0.1:{ports[name]}" for name in gunicorn_instances()},
        admin_token="",
        service_token="",
        mail=Mailbox(tmp / "maildir"),
        webhooks=WebhookLog(tmp / "webhooks.jsonl"),
        webhook_url=webhook_url,
        processes=processes,
        nginx_dir=tmp / "nginx",
        database_urls=database_urls,
        env=env,
        signing_root=signing_root,
    )
    for service in SERVICES:
        stack.frontdesk("db", "upgrade", service)
    stack.service_token = stack.frontdesk("token", "create", "--role", "service").strip()
    stack.admin_token = stack.frontdesk("token", "create", "--role", "admin").strip()
    env["FRONTDESK_SERVICE_TOKEN"] = stack.service_token

    processes.start(
        "smtp",
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{ports['smtp']}",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            str(stack.mail.path),
        ],
        env,
    )
    processes.start(
        "webhook",
        [
            sys.executable,
            str(Path(__file__).with_name("webhook_receiver.py")),
            str(ports["webhook"]),
            str(stack.webhooks.path),
        ],
        env,
    )
    for name, service in gunicorn_instances().items():
        metrics_dir = tmp / f"metrics-{name}"
        metrics_dir.mkdir()
        processes.start(
            name,
            [
                str(BIN / "gunicorn"),
                "-c",
                str(ROOT / "deploy" / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{ports[name]}",
                f"frontdesk.wsgi:{service}",
            ],
            {
                **env,
                "FRONTDESK_SERVICE": service,
                "WEB_CONCURRENCY": "2" if service == "booking" else "1",
                "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            },
        )
    render = load_render_nginx()
    servers = {
        s: " ".join(
            f"server {stack.instances[n][7:]};" for n, v in gunicorn_instances().items() if v == s
        )
        for s in ("booking", "consent", "console")
    }
    main_conf = render.write_standalone(
        stack.nginx_dir,
        {
            "NGINX_LISTEN": f"127.0.0.1:{ports['nginx']}",
            "NGINX_SERVER_NAME": "127.0.0.1 localhost",
            "NGINX_BOOKING_SERVERS": servers["booking"],
            "NGINX_CONSENT_SERVERS": servers["consent"],
            "NGINX_CONSOLE_SERVERS": servers["console"],
        },
    )
    processes.start(
        "nginx",
        [
            "nginx",
            "-p",
            str(stack.nginx_dir),
            "-c",
            str(main_conf),
            "-e",
            str(stack.nginx_dir / "error.log"),
        ],
        env,
    )
    for name in gunicorn_instances():
        stack.wait_healthy(name)
    for name, port in (
        ("smtp", ports["smtp"]),
        ("webhook", ports["webhook"]),
        ("nginx", ports["nginx"]),
    ):
        wait_until(
            lambda p=port, n=name: _listening(p, processes, n), timeout=30, what=f"{name} to listen"
        )
    for kind in WORKERS:
        processes.start(f"worker-{kind}", [str(BIN / "frontdesk"), "worker", kind], env)
        stack.workers.append(kind)
    for kind in stack.workers:
        wait_until(
            lambda k=kind: _worker_running(processes, k), timeout=30, what=f"worker {kind} to run"
        )
    return stack


def _listening(port: int, processes: Processes, name: str) -> bool:
    processes.check_alive(name)
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _worker_running(processes: Processes, kind: str) -> bool:
    processes.check_alive(f"worker-{kind}")
    return f"worker {kind} running" in processes.procs[f"worker-{kind}"].log()
