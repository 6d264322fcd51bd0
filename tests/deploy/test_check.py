"""`frontdesk check`: one clear line per problem, exit 1 on any, against real servers."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from cryptography.x509.oid import NameOID
from werkzeug.serving import make_server

from frontdesk.check import run_checks
from frontdesk.cli import main
from frontdesk.suite import Suite
from shared.testing import SmtpSink

SERVICES = ("booking", "consent", "notify", "console")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served_suite(apps):
    """The three apps served over real HTTP, mounted as in the all-in-one suite."""
    server = make_server("127.0.0.1", 0, Suite(apps), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def smtp_server():
    """A real aiosmtpd server on a free port (it answers EHLO and accepts mail)."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture
def environ(database_urls, served_suite, smtp_server, service_token):
    """A complete, correct configuration as environment variables."""
    return {
        "FRONTDESK_SECRET_KEY": "a-real-secret-for-the-check-tests",
        **{f"FRONTDESK_{s.upper()}_DATABASE_URL": database_urls[s] for s in SERVICES},
        **{f"FRONTDESK_{s.upper()}_URL": f"{served_suite}/{s}" for s in SERVICES},
        "FRONTDESK_SERVICE_TOKEN": service_token,
        "FRONTDESK_SMTP_URL": smtp_server.url,
        "FRONTDESK_HTTP_TIMEOUT": "3",
    }


def make_p12(path, *, password: str, days_valid: int = 365) -> None:
    """Write a PKCS#12 file with a key and a self-signed certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Maple Community Services")])
    now = datetime.now(UTC)
    start = now - timedelta(days=1) if days_valid > 0 else now - timedelta(days=30)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + timedelta(days=days_valid))
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"org", key, cert, None, BestAvailableEncryption(password.encode())
        )
    )


def findings_by_subject(environ, services=SERVICES) -> dict:
    return {f.subject: f for f in run_checks(services=services, environ=environ)}


def test_rate_limit_storage_is_checked_where_limits_apply(environ):
    memory = findings_by_subject(environ)["rate-limit storage"]
    assert memory.ok and "each process" in memory.message
    assert "rate-limit storage" not in findings_by_subject(environ, services=("notify",))
    gone = {**environ, "FRONTDESK_RATELIMIT_STORAGE_URL": f"redis://127.0.0.1:{free_port()}/0"}
    finding = findings_by_subject(gone, services=("booking",))["rate-limit storage"]
    assert not finding.ok and "redis://127.0.0.1" in finding.message
    unknown = {**environ, "FRONTDESK_RATELIMIT_STORAGE_URL": "nosuch://somewhere"}
    assert not findings_by_subject(unknown, services=("consent",))["rate-limit storage"].ok


def test_correct_configuration_passes_every_check(environ):
    findings = findings_by_subject(environ)
    assert [f.line() for f in findings.values() if not f.ok] == []
    assert set(findings) == {
        "secret key",
        "booking database",
        "consent database",
        "notify database",
        "console database",
        "smtp",
        "signing certificate",
        "booking service",
        "consent service",
        "notify service",
        "rate-limit storage",
    }
    assert "migrated to head" in findings["booking database"].message
    assert "answers EHLO" in findings["smtp"].message
    assert "accepts the service token" in findings["notify service"].message


def test_cli_prints_a_line_per_check_and_exits_0_when_all_pass(environ):
    result = CliRunner().invoke(main, ["check"], env=environ)
    assert result.exit_code == 0, result.output
    assert result.output.count("\nok  ") + result.output.startswith("ok  ") == 11
    assert "FAIL" not in result.output


def test_cli_exits_1_and_names_the_problem(environ):
    environ["FRONTDESK_SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(main, ["check", "notify"], env=environ)
    assert result.exit_code == 1
    assert "FAIL  smtp: smtp://127.0.0.1:" in result.output
    assert "does not answer" in result.output


def test_smtp_on_a_wrong_port_is_reported(environ):
    environ["FRONTDESK_SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"
    finding = findings_by_subject(environ, ["notify"])["smtp"]
    assert not finding.ok
    assert "does not answer" in finding.message


def test_smtp_is_only_checked_for_notify(environ):
    environ["FRONTDESK_SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"
    assert "smtp" not in findings_by_subject(environ, ["booking"])


def test_console_smtp_is_fine_and_says_so(environ):
    environ["FRONTDESK_SMTP_URL"] = "console://"
    finding = findings_by_subject(environ, ["notify"])["smtp"]
    assert finding.ok and "prints messages" in finding.message


def test_unmigrated_database_is_reported_with_the_upgrade_command(environ, tmp_path):
    import sqlalchemy as sa

    empty = tmp_path / "empty.db"
    sa.create_engine(f"sqlite:///{empty}").connect().close()
    environ["FRONTDESK_CONSENT_DATABASE_URL"] = f"sqlite:///{empty}"
    finding = findings_by_subject(environ)["consent database"]
    assert not finding.ok
    assert "no revision" in finding.message
    assert "run `frontdesk db upgrade consent`" in finding.message


def test_missing_sqlite_file_is_reported_and_not_created(environ, tmp_path):
    missing = tmp_path / "nowhere" / "booking.db"
    environ["FRONTDESK_BOOKING_DATABASE_URL"] = f"sqlite:///{missing}"
    finding = findings_by_subject(environ, ["booking"])["booking database"]
    assert not finding.ok and "does not exist" in finding.message
    assert not missing.exists()


def test_missing_postgresql_database_is_reported(environ):
    environ["FRONTDESK_NOTIFY_DATABASE_URL"] = (
        "postgresql+psycopg://postgres:pw@127.0.0.1:5432/frontdesk_check_no_such_db"
    )
    finding = findings_by_subject(environ, ["notify"])["notify database"]
    assert not finding.ok
    assert "does not answer" in finding.message
    assert "pw@" not in finding.message  # no password in the output


def test_database_server_not_listening_is_reported(environ):
    environ["FRONTDESK_NOTIFY_DATABASE_URL"] = (
        f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/frontdesk"
    )
    finding = findings_by_subject(environ, ["notify"])["notify database"]
    assert not finding.ok and "does not answer" in finding.message


def test_signing_certificate_that_loads_passes(environ, tmp_path):
    make_p12(tmp_path / "org.p12", password="right")
    environ["FRONTDESK_SIGNING_P12"] = str(tmp_path / "org.p12")
    environ["FRONTDESK_SIGNING_P12_PASSWORD"] = "right"
    finding = findings_by_subject(environ, ["consent"])["signing certificate"]
    assert finding.ok, finding.message
    assert "Maple Community Services" in finding.message


def test_signing_certificate_with_wrong_password_is_reported(environ, tmp_path):
    make_p12(tmp_path / "org.p12", password="right")
    environ["FRONTDESK_SIGNING_P12"] = str(tmp_path / "org.p12")
    environ["FRONTDESK_SIGNING_P12_PASSWORD"] = "wrong"
    finding = findings_by_subject(environ, ["consent"])["signing certificate"]
    assert not finding.ok and "FRONTDESK_SIGNING_P12_PASSWORD" in finding.message


def test_missing_signing_certificate_file_is_reported(environ, tmp_path):
    environ["FRONTDESK_SIGNING_P12"] = str(tmp_path / "absent.p12")
    finding = findings_by_subject(environ, ["consent"])["signing certificate"]
    assert not finding.ok and "does not exist" in finding.message


def test_expired_signing_certificate_is_reported(environ, tmp_path):
    make_p12(tmp_path / "old.p12", password="pw", days_valid=-2)
    environ["FRONTDESK_SIGNING_P12"] = str(tmp_path / "old.p12")
    environ["FRONTDESK_SIGNING_P12_PASSWORD"] = "pw"
    finding = findings_by_subject(environ, ["consent"])["signing certificate"]
    assert not finding.ok and "not now" in finding.message


def test_other_service_not_answering_is_reported(environ):
    environ["FRONTDESK_NOTIFY_URL"] = f"http://127.0.0.1:{free_port()}/notify"
    findings = findings_by_subject(environ, ["booking"])
    assert not findings["notify service"].ok
    assert "/health does not answer" in findings["notify service"].message
    assert findings["consent service"].ok
    assert "booking service" not in findings  # booking does not check itself


def test_service_token_unknown_to_another_service_is_reported(environ):
    environ["FRONTDESK_SERVICE_TOKEN"] = "fds_not-stored-anywhere"
    finding = findings_by_subject(environ, ["booking"])["notify service"]
    assert not finding.ok and "does not accept FRONTDESK_SERVICE_TOKEN" in finding.message


def test_missing_service_token_is_reported(environ):
    del environ["FRONTDESK_SERVICE_TOKEN"]
    findings = findings_by_subject(environ, ["consent"])
    assert not findings["service token"].ok
    assert "frontdesk token create --role service" in findings["service token"].message


def test_default_secret_key_is_reported(environ):
    del environ["FRONTDESK_SECRET_KEY"]
    assert not findings_by_subject(environ, ["booking"])["secret key"].ok


def test_short_secret_key_is_reported(environ):
    environ["FRONTDESK_SECRET_KEY"] = "only-31-bytes-long-secret-value"
    finding = findings_by_subject(environ, ["booking"])["secret key"]
    assert not finding.ok and "at least 32" in finding.message


def test_secret_file_readable_by_others_is_reported_not_a_traceback(environ, tmp_path):
    secret = tmp_path / "secret-key"
    secret.write_text("from-a-file-but-world-readable")
    secret.chmod(0o644)
    del environ["FRONTDESK_SECRET_KEY"]
    environ["FRONTDESK_SECRET_KEY_FILE"] = str(secret)
    result = CliRunner().invoke(main, ["check", "booking"], env=environ)
    assert result.exit_code == 1
    assert "FAIL  configuration: FRONTDESK_SECRET_KEY_FILE=" in result.output
    assert "chmod 600" in result.output


def test_secret_from_a_private_file_passes(environ, tmp_path):
    secret = tmp_path / "secret-key"
    secret.write_text("from-a-private-file-and-32-bytes-long")
    secret.chmod(0o600)
    del environ["FRONTDESK_SECRET_KEY"]
    environ["FRONTDESK_SECRET_KEY_FILE"] = str(secret)
    assert findings_by_subject(environ, ["booking"])["secret key"].ok
