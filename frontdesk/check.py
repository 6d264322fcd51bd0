"""`frontdesk check`: is this configuration ready to serve? One clear line per finding.

Checks, for the services asked about: each database answers and is migrated to head; SMTP
answers EHLO (notify); the signing certificate loads (consent); the other services answer
/health and accept this service's token; the secret key is not the documented default and has 32+ bytes; the
rate-limit storage answers (booking and consent).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import sqlalchemy as sa
from cryptography.hazmat.primitives.serialization import pkcs12

from frontdesk import migrations
from shared.config import ConfigError, load_config, require_strong_secret_key


@dataclass(frozen=True)
class Finding:
    """One checked thing: what it is, whether it is fine, and what to do about it."""

    subject: str
    ok: bool
    message: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.subject}: {self.message}"


def run_checks(
    *, services: Sequence[str], environ: Mapping[str, str] | None = None
) -> list[Finding]:
    """Check the configuration `environ` (default: the process environment) for `services`."""
    try:
        configs = {service: load_config(service, environ=environ) for service in services}
        common = load_config(environ=environ)
    except ConfigError as exc:
        return [Finding("configuration", False, str(exc))]
    findings = [check_secret_key(common)]
    for service, config in configs.items():
        findings.append(check_database(service=service, url=config["DATABASE_URL"]))
    if "notify" in configs:
        findings.append(check_smtp(url=common["SMTP_URL"], timeout=common["HTTP_TIMEOUT"]))
    if "consent" in configs:
        findings.append(
            check_signing_certificate(
                path=common["SIGNING_P12"], password=common["SIGNING_P12_PASSWORD"]
            )
        )
    if {"booking", "consent", "console"} & set(configs):
        findings.append(check_rate_limit_storage(url=common["RATELIMIT_STORAGE_URL"]))
    findings.extend(check_peers(services=services, config=common))
    return findings


def check_rate_limit_storage(*, url: str) -> Finding:
    """The rate-limit storage answers (memory:// always does, but counts per process)."""
    from limits.errors import ConfigurationError
    from limits.storage import storage_from_string

    subject = "rate-limit storage"
    if url.startswith("memory://"):
        return Finding(
            subject,
            True,
            "in each process's memory (set redis://... when several processes or "
            "hosts serve, so a limit counts across them)",
        )
    shown = urlsplit(url)._replace(netloc=urlsplit(url).hostname or "").geturl()
    try:
        storage = storage_from_string(url)
        answered = storage.check()
    except ConfigurationError as exc:
        return Finding(
            subject, False, f"{shown}: {exc} (for Redis: pip install 'frontdesk[redis]')"
        )
    except Exception as exc:  # any driver error means "not usable"
        return Finding(subject, False, f"{shown}: {type(exc).__name__}")
    if not answered:
        return Finding(subject, False, f"{shown} did not answer")
    return Finding(subject, True, f"{shown} answers")


def check_secret_key(config: Mapping) -> Finding:
    """The secret key must be one's own, long enough (the rule the production processes apply)."""
    try:
        require_strong_secret_key(config["SECRET_KEY"])
    except ConfigError as exc:
        return Finding("secret key", False, str(exc))
    return Finding("secret key", True, "set")


def check_database(*, service: str, url: str) -> Finding:
    """The service's database answers and is at the head revision of its migrations."""
    subject = f"{service} database"
    safe = sa.make_url(url).render_as_string(hide_password=True)
    if url.startswith("sqlite") and not _sqlite_file_exists(url):
        return Finding(
            subject, False, f"{safe}: the file does not exist; run `frontdesk db upgrade {service}`"
        )
    try:
        current = migrations.current_heads(url)
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return Finding(subject, False, f"{safe} does not answer: {reason}")
    expected = migrations.script_heads(service)
    if current != expected:
        at = ", ".join(sorted(current)) or "no revision (empty)"
        return Finding(
            subject,
            False,
            f"{safe} is at {at}, the code needs {', '.join(sorted(expected))}; "
            f"run `frontdesk db upgrade {service}`",
        )
    return Finding(subject, True, f"{safe} migrated to head ({', '.join(sorted(current))})")


def _sqlite_file_exists(url: str) -> bool:
    """In-memory SQLite always 'exists'; a file URL only when the file is there."""
    database = sa.make_url(url).database
    return not database or database == ":memory:" or Path(database).exists()


def check_smtp(*, url: str, timeout: float) -> Finding:
    """For smtp:// and smtps:// URLs: connect, EHLO, STARTTLS and log in when configured."""
    parts = urlsplit(url)
    if parts.scheme == "console":
        return Finding("smtp", True, "console:// prints messages instead of sending them")
    if parts.scheme == "file":
        folder = Path(unquote(parts.path))
        if folder.is_dir() or folder.parent.is_dir():
            return Finding("smtp", True, f"file:// writes messages to {folder}")
        return Finding("smtp", False, f"file://: neither {folder} nor its parent folder exists")
    if parts.scheme not in ("smtp", "smtps"):
        return Finding("smtp", False, f"unknown scheme {parts.scheme!r} in FRONTDESK_SMTP_URL")
    host = parts.hostname or "localhost"
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    options = parse_qs(parts.query)
    where = f"{parts.scheme}://{host}:{port}"
    try:
        if parts.scheme == "smtps":
            server = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            server = smtplib.SMTP(host, port, timeout=timeout)
        with server:
            code, _ = server.ehlo()
            if code != 250:
                return Finding("smtp", False, f"{where} refused EHLO ({code})")
            if options.get("starttls", ["0"])[0] in ("1", "true", "yes"):
                server.starttls(context=ssl.create_default_context())
                server.ehlo()
            if parts.username:
                server.login(unquote(parts.username), unquote(parts.password or ""))
    except smtplib.SMTPAuthenticationError:
        return Finding("smtp", False, f"{where} refused the user name or password")
    except (OSError, smtplib.SMTPException) as exc:
        return Finding("smtp", False, f"{where} does not answer: {exc or type(exc).__name__}")
    return Finding("smtp", True, f"{where} answers EHLO")


def check_signing_certificate(*, path: str | None, password: str | None) -> Finding:
    """The PKCS#12 file opens with its password and holds a key and a current certificate."""
    subject = "signing certificate"
    if not path:
        return Finding(subject, True, "FRONTDESK_SIGNING_P12 not set: no certificate to check")
    file = Path(path)
    if not file.is_file():
        return Finding(subject, False, f"{path} does not exist or is not a file")
    try:
        key, cert, _chain = pkcs12.load_key_and_certificates(
            file.read_bytes(), password.encode() if password else None
        )
    except (ValueError, TypeError) as exc:
        return Finding(
            subject, False, f"{path} does not open (wrong FRONTDESK_SIGNING_P12_PASSWORD?): {exc}"
        )
    if key is None or cert is None:
        return Finding(subject, False, f"{path} must hold both the private key and the certificate")
    now = datetime.now(UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        return Finding(
            subject,
            False,
            f"{path}: the certificate is valid from {cert.not_valid_before_utc:%Y-%m-%d} "
            f"to {cert.not_valid_after_utc:%Y-%m-%d}, not now",
        )
    return Finding(
        subject,
        True,
        f"{cert.subject.rfc4514_string()}, valid until {cert.not_valid_after_utc:%Y-%m-%d}",
    )


def check_peers(*, services: Sequence[str], config: Mapping) -> Iterator[Finding]:
    """Each service the checked ones talk to answers /health and accepts the service token."""
    token = config["SERVICE_TOKEN"]
    if not token:
        yield Finding(
            "service token",
            False,
            "FRONTDESK_SERVICE_TOKEN is not set; create one with "
            "`frontdesk token create --role service` and set it for every service",
        )
    # Every service calls the others (booking -> notify, consent -> booking and notify, the
    # console -> all three); nothing calls the console.
    peers = [p for p in migrations.SERVICES if p != "console" and set(services) - {p}]
    with httpx.Client(timeout=config["HTTP_TIMEOUT"]) as client:
        for peer in peers:
            yield _check_peer(client, peer, config[f"{peer.upper()}_URL"].rstrip("/"), token)


def _check_peer(client: httpx.Client, peer: str, base: str, token: str | None) -> Finding:
    subject = f"{peer} service"
    try:
        health = client.get(f"{base}/health")
    except httpx.HTTPError as exc:
        return Finding(
            subject, False, f"{base}/health does not answer: {exc or type(exc).__name__}"
        )
    if health.status_code != 200:
        return Finding(subject, False, f"{base}/health answered {health.status_code}")
    if not token:
        return Finding(subject, True, f"{base} is healthy")
    whoami = client.get(f"{base}/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
    role = whoami.json().get("role") if whoami.status_code == 200 else None
    if role != "service":
        return Finding(
            subject,
            False,
            f"{base} does not accept FRONTDESK_SERVICE_TOKEN as a service token "
            f"({whoami.status_code}); store it with `frontdesk token create --role service`",
        )
    return Finding(subject, True, f"{base} is healthy and accepts the service token")
