"""PAdES B-T: with FRONTDESK_TSA_URL set, records carry a timestamp from a real RFC 3161 server."""

from __future__ import annotations

import io
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asn1crypto import tsp
from consent_validators import pdfsig, pyhanko_validate
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext


def _certificate(subject, issuer, key, issuer_key, *, ca: bool):
    now = datetime.now(UTC) - timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def tsa(tmp_path_factory):
    """A local RFC 3161 timestamp server (pyHanko's signer behind a real HTTP endpoint)."""
    folder = tmp_path_factory.mktemp("tsa")
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _certificate("Test TSA root", "Test TSA root", root_key, root_key, ca=True)
    leaf = _certificate("Test TSA", "Test TSA root", key, root_key, ca=False)
    pem = serialization.Encoding.PEM
    (folder / "root.pem").write_bytes(root.public_bytes(pem))
    (folder / "tsa.pem").write_bytes(leaf.public_bytes(pem))
    (folder / "tsa-key.pem").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    stamper = DummyTimeStamper(
        tsa_cert=load_cert_from_pemder(str(folder / "tsa.pem")),
        tsa_key=load_private_key_from_pemder(str(folder / "tsa-key.pem"), None),
        certs_to_embed=[load_cert_from_pemder(str(folder / "root.pem"))],
    )
    served = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            answer = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            served.append(self.headers["Content-Type"])
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {
        "url": f"http://127.0.0.1:{server.server_address[1]}/",
        "root_pem": folder / "root.pem",
        "served": served,
    }
    server.shutdown()
    server.server_close()


def test_record_is_timestamped_when_a_tsa_is_configured(
    make_request, session, settings, origin, tsa, tmp_path, root_pem
):
    from services.consent.operations import requests

    _request, token = make_request()
    signed = requests.sign(
        session=session,
        token=token,
        typed_name="Ana López",
        disclosure_accepted=True,
        checkboxes={"recording": True, "sharing": True},
        settings=replace(settings, tsa_url=tsa["url"]),
        origin=origin,
    )
    # pyHanko asks once to size the signature, then once for the real token.
    assert tsa["served"] and set(tsa["served"]) == {"application/timestamp-query"}
    path = tmp_path / "bt.pdf"
    path.write_bytes(signed.record.pdf)
    assert "Signature is Valid." in pdfsig(path)
    embedded = PdfFileReader(io.BytesIO(signed.record.pdf)).embedded_signatures[0]
    context = ValidationContext(
        trust_roots=[load_cert_from_pemder(str(root_pem))], allow_fetching=False
    )
    timestamp_context = ValidationContext(
        trust_roots=[load_cert_from_pemder(str(tsa["root_pem"]))], allow_fetching=False
    )
    status = validate_pdf_signature(
        embedded, signer_validation_context=context, ts_validation_context=timestamp_context
    )
    assert status.bottom_line
    assert status.timestamp_validity is not None and status.timestamp_validity.intact
    result = pyhanko_validate(path, root_pem, extra_trust=[tsa["root_pem"]])
    assert result.returncode == 0, result.stdout + result.stderr
