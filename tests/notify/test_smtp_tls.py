"""SMTP with STARTTLS and AUTH against a real aiosmtpd server with its own certificate authority."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.notify import channels, outbox
from shared import testing
from shared.workers import step_on


def make_ca_and_server_cert(folder):
    """A private CA and a certificate for 127.0.0.1 it issued; returns (ca.pem, cert.pem, key.pem)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Notify test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def authenticate(server, session, envelope, mechanism, auth_data):
    """aiosmtpd authenticator: one account, with URL-special characters in its password."""
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"notify",
        b"s3cret:/@",
    )
    return AuthResult(success=ok)


@pytest.fixture
def tls_sink(tmp_path, monkeypatch, unused_port):
    """An SMTP server that requires STARTTLS, then AUTH; notify trusts its private CA."""
    from aiosmtpd.controller import Controller

    ca, cert, key = make_ca_and_server_cert(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    sink = testing.SmtpSink(port=unused_port)
    controller = Controller(
        sink,
        hostname=sink.host,
        port=sink.port,
        tls_context=server_context,
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    # The client uses the system trust store; point it at the test CA for this test.
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    channels._tls_context.cache_clear()
    try:
        yield sink
    finally:
        controller.stop()
        channels._tls_context.cache_clear()


def test_email_goes_through_starttls_with_auth(tls_sink, notify_app, post_message):
    password = "s3cret%3A%2F%40"  # URL-encoded in FRONTDESK_SMTP_URL
    notify_app.config["SMTP_URL"] = f"smtp://notify:{password}@127.0.0.1:{tls_sink.port}?starttls=1"
    try:
        post_message()
        assert step_on(notify_app, outbox.deliver) == 1
    finally:
        notify_app.config["SMTP_URL"] = "console://"
    [mail] = tls_sink.wait_for(1)
    assert mail["Subject"].startswith("Confirmed:")


@pytest.fixture
def smtps_server(tmp_path, monkeypatch, unused_port):
    """start(trusted) -> an SMTP server speaking TLS from the first byte (smtps, port 465 style)
    with AUTH; notify trusts the test CA, and with trusted=False the server's certificate comes
    from another CA."""
    from aiosmtpd.controller import Controller

    (tmp_path / "trusted").mkdir()
    (tmp_path / "stranger").mkdir()
    trusted_ca, *trusted_pair = make_ca_and_server_cert(tmp_path / "trusted")
    _, *stranger_pair = make_ca_and_server_cert(tmp_path / "stranger")
    monkeypatch.setenv("SSL_CERT_FILE", str(trusted_ca))
    channels._tls_context.cache_clear()
    logins: list[bytes] = []
    controllers = []

    def remembering(server, session, envelope, mechanism, auth_data):
        logins.append(getattr(auth_data, "password", b""))
        return authenticate(server, session, envelope, mechanism, auth_data)

    def start(trusted: bool):
        cert, key = trusted_pair if trusted else stranger_pair
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        sink = testing.SmtpSink(port=unused_port)
        controller = Controller(
            sink,
            hostname=sink.host,
            port=sink.port,
            ssl_context=context,
            authenticator=remembering,
            auth_require_tls=False,  # the whole session is TLS already
        )
        controller.start()
        controllers.append(controller)
        return sink, logins

    try:
        yield start
    finally:
        for controller in controllers:
            controller.stop()
        channels._tls_context.cache_clear()


def test_email_goes_through_smtps_with_auth(smtps_server, notify_app, post_message):
    sink, logins = smtps_server(trusted=True)
    notify_app.config["SMTP_URL"] = f"smtps://notify:s3cret%3A%2F%40@127.0.0.1:{sink.port}"
    try:
        post_message()
        post_message(group="second")
        assert step_on(notify_app, outbox.deliver) == 2
    finally:
        notify_app.config["SMTP_URL"] = "console://"
    assert len(sink.wait_for(2)) == 2
    assert logins == [b"s3cret:/@"]  # one connection, one login, for the batch


def test_a_server_with_an_untrusted_certificate_gets_neither_mail_nor_password(
    smtps_server, notify_app, post_message, notify_client
):
    sink, logins = smtps_server(trusted=False)
    notify_app.config["SMTP_URL"] = f"smtps://notify:s3cret%3A%2F%40@127.0.0.1:{sink.port}"
    try:
        created = post_message()
        step_on(notify_app, outbox.deliver)
    finally:
        notify_app.config["SMTP_URL"] = "console://"
    assert sink.messages == [] and logins == []
    shown = notify_client.call("GET", f"/api/v1/messages/{created.json['id']}").json
    assert shown["status"] in ("scheduled", "failed") and shown["attempts"]
    assert "CERTIFICATE" in shown["attempts"][-1]["error"].upper()
