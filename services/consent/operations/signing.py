"""The organization's signature on consent records: PAdES with pyHanko.

The key comes from FRONTDESK_SIGNING_P12 when set; otherwise a private root CA and a signing
certificate (non-repudiation key usage) are made once, on first use, and kept in the instance
folder (mode 600). The root's PEM is published so anyone can validate a record offline.
Signing is the last step on a PDF: later additions (a withdrawal) are incremental updates
carrying a new signature field, so earlier signatures stay valid.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import io
import os
import stat
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
from pyhanko.pdf_utils import content, generic, layout
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.info import view_from_info_dict
from pyhanko.pdf_utils.metadata.model import VENDOR
from pyhanko.pdf_utils.metadata.xmp_xml import MetadataStream, meta_from_xmp
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from services.consent.errors import SigningUnavailable

KEY_FOLDER = "consent-signing"
RECORD_FIELD = "OrganizationSignature"
WITHDRAWAL_FIELD = "WithdrawalSignature"


@dataclass(frozen=True)
class OrgSigner:
    """A ready pyHanko signer with the certificate chain and its trust root."""

    signer: signers.SimpleSigner
    root_pem: bytes
    root: asn1_x509.Certificate


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _name(org_name: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org_name[:64]),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(*, signing: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signing,
        content_commitment=signing,  # non-repudiation: pyHanko checks it by default
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signing,
        crl_sign=not signing,
        encipher_only=False,
        decipher_only=False,
    )


def generate_instance_ca(folder: Path, org_name: str) -> None:
    """Make a private root CA and a signing certificate it issued; files are written 0600."""
    now = datetime.now(UTC) - timedelta(minutes=5)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    root_name = _name(org_name, f"{org_name} consent root CA")
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=365 * 20))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signing=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(org_name, f"{org_name} consent records"))
        .issuer_name(root_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=365 * 10))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signing=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .sign(root_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    pkcs8 = serialization.PrivateFormat.PKCS8
    plain = serialization.NoEncryption()
    _write_private(folder / "root-key.pem", root_key.private_bytes(pem, pkcs8, plain))
    _write_private(folder / "signing-key.pem", key.private_bytes(pem, pkcs8, plain))
    _write_private(folder / "signing.pem", certificate.public_bytes(pem))
    # Written last: its presence means the set is complete.
    _write_private(folder / "root.pem", root.public_bytes(pem))


def _from_instance(instance_dir: str, org_name: str) -> OrgSigner:
    folder = Path(instance_dir) / KEY_FOLDER
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        # One process makes the CA; others wait on the lock, then read it.
        with open(folder / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (folder / "root.pem").exists():
                generate_instance_ca(folder, org_name)
        root_pem = (folder / "root.pem").read_bytes()
        root = load_cert_from_pemder(str(folder / "root.pem"))
        certificate = load_cert_from_pemder(str(folder / "signing.pem"))
        key = load_private_key_from_pemder(str(folder / "signing-key.pem"), None)
    except (OSError, ValueError) as exc:
        raise SigningUnavailable(
            f"The signing key in the instance folder cannot be read or created ({type(exc).__name__})."
        ) from exc
    signer = signers.SimpleSigner(
        signing_cert=certificate,
        signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs([root, certificate]),
    )
    return OrgSigner(signer=signer, root_pem=root_pem, root=root)


def _from_p12(path: str, password: str | None) -> OrgSigner:
    if not Path(path).is_file():
        raise SigningUnavailable("FRONTDESK_SIGNING_P12 names a file that does not exist.")
    try:
        signer = signers.SimpleSigner.load_pkcs12(
            path, passphrase=password.encode() if password else None
        )
    except (OSError, ValueError) as exc:
        raise SigningUnavailable(
            "FRONTDESK_SIGNING_P12 cannot be opened with its password."
        ) from exc
    if signer is None:
        raise SigningUnavailable("FRONTDESK_SIGNING_P12 cannot be opened with its password.")
    chain = [signer.signing_cert, *signer.cert_registry]
    # The trust root: a self-signed certificate in the file, or the topmost issuer present.
    root = next((c for c in chain if c.self_signed in ("yes", "maybe")), chain[-1])
    root_pem = _pem(root)
    return OrgSigner(signer=signer, root_pem=root_pem, root=root)


def _pem(certificate: asn1_x509.Certificate) -> bytes:
    return x509.load_der_x509_certificate(certificate.dump()).public_bytes(
        serialization.Encoding.PEM
    )


def pem_to_der(pem: bytes) -> bytes:
    """A PEM certificate in DER form (what Windows and macOS import by double-click)."""
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


@functools.lru_cache(maxsize=8)
def _cached(instance_dir: str, org_name: str, p12: str | None, password: str | None) -> OrgSigner:
    if p12:
        return _from_p12(p12, password)
    return _from_instance(instance_dir, org_name)


def load_signer(
    *, instance_dir: str, org_name: str, p12_path: str | None, p12_password: str | None
) -> OrgSigner:
    """The organization's signer (made once per process; the CA once per instance)."""
    return _cached(instance_dir, org_name, p12_path, p12_password)


def forget_signers() -> None:
    """Drop cached signers (after keys change on disk)."""
    _cached.cache_clear()


def _timestamper(tsa_url: str | None) -> timestamps.TimeStamper | None:
    return timestamps.HTTPTimeStamper(tsa_url, timeout=10) if tsa_url else None


def _meta(field_name: str, reason: str, org_name: str) -> signers.PdfSignatureMetadata:
    return signers.PdfSignatureMetadata(
        field_name=field_name,
        subfilter=SigSeedSubFilter.PADES,  # PAdES B-B, or B-T with a timestamp
        md_algorithm="sha256",
        reason=reason,
        location=org_name,
        name=org_name,
    )


def _metadata_in_step(writer: IncrementalPdfFileWriter) -> None:
    """Make the Info dictionary say what pyHanko will write into the XMP (PDF/A keeps them equal).

    pyHanko sets XMP pdf:Producer to its own name but appends that name to Info /Producer, and
    refreshes xmp:ModifyDate always but Info /ModDate only when present.
    """
    if "/Metadata" not in writer.root or "/Info" not in writer.trailer:
        return
    info = writer.trailer["/Info"]
    if "/ModDate" in info and "/Producer" in info and info["/Producer"] == VENDOR:
        return
    info["/Producer"] = generic.TextStringObject(VENDOR)
    info.setdefault("/ModDate", generic.TextStringObject(""))  # pyHanko sets it when signing
    writer.mark_update(writer.trailer.raw_get("/Info"))


def _dates_in_step(writer: IncrementalPdfFileWriter) -> bool:
    if "/Metadata" not in writer.root or "/Info" not in writer.trailer:
        return True
    metadata = writer.root["/Metadata"]
    if not isinstance(metadata, MetadataStream):
        return True
    info = view_from_info_dict(writer.trailer["/Info"], strict=False)
    return info.last_modified == meta_from_xmp(metadata.xmp).last_modified


def _run(make_signer: Callable[[], signers.PdfSigner], pdf: bytes, tsa_url: str | None) -> bytes:
    try:
        # pyHanko reads the clock once for Info /ModDate and once for xmp:ModifyDate; on the
        # rare signing that straddles a second the two differ, and signing afresh aligns them.
        for _attempt in range(3):
            writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
            _metadata_in_step(writer)
            signed = make_signer().sign_pdf(writer).getvalue()
            if _dates_in_step(writer):
                break
        return signed
    except Exception as exc:
        # A failing timestamp service fails the signing loudly: no silent fallback to B-B.
        where = "the timestamp service" if tsa_url else "the signer"
        raise SigningUnavailable(
            f"The record could not be signed: {where} failed ({type(exc).__name__})."
        ) from exc


def sign_record(
    pdf: bytes, *, org: OrgSigner, org_name: str, tsa_url: str | None, reason: str
) -> bytes:
    """Sign a finished PDF with an invisible organization signature covering the whole file."""
    meta = _meta(RECORD_FIELD, reason, org_name)
    return _run(
        lambda: signers.PdfSigner(meta, org.signer, timestamper=_timestamper(tsa_url)),
        pdf,
        tsa_url,
    )


def _subset_tag(program: bytes) -> str:
    """Six capital letters derived from a font subset's program: another subset, another tag."""
    return "".join(chr(ord("A") + byte % 26) for byte in hashlib.sha256(program).digest()[:6])


def _retag(name: generic.NameObject, tag: str) -> generic.NameObject:
    base = str(name)[1:]
    if len(base) > 7 and base[6] == "+" and base[:6].isalpha() and base[:6].isupper():
        return generic.NameObject(f"/{tag}+{base[7:]}")
    return name


def _retag_font_subsets(resources: generic.DictionaryObject, seen: set | None = None) -> None:
    """Give every embedded font subset under these resources a tag derived from its glyphs.

    WeasyPrint derives a subset's tag from the font alone, so the withdrawal page's subset of
    DejaVu Sans would carry the first revision's tag with other glyphs; ISO 32000-1 9.6.4 wants
    a distinct tag for each subset in the file.
    """
    seen = set() if seen is None else seen
    if id(resources) in seen:
        return
    seen.add(id(resources))
    # pyHanko's .get() leaves indirect references unresolved: get_object() follows them.
    fonts = resources.get("/Font", generic.DictionaryObject()).get_object()
    for font in (ref.get_object() for ref in fonts.values()):
        descendants = font.get("/DescendantFonts", generic.ArrayObject()).get_object()
        parts = [font, *(ref.get_object() for ref in descendants)]
        descriptors = [part["/FontDescriptor"] for part in parts if "/FontDescriptor" in part]
        programs = [
            d[key].data
            for d in descriptors
            for key in ("/FontFile", "/FontFile2", "/FontFile3")
            if key in d
        ]
        if not programs:
            continue
        tag = _subset_tag(b"".join(programs))
        for part in parts:
            if "/BaseFont" in part:
                part["/BaseFont"] = _retag(part["/BaseFont"], tag)
        for descriptor in descriptors:
            descriptor["/FontName"] = _retag(descriptor["/FontName"], tag)
    xobjects = resources.get("/XObject", generic.DictionaryObject()).get_object()
    for xobject in (ref.get_object() for ref in xobjects.values()):
        if "/Resources" in xobject:
            _retag_font_subsets(xobject["/Resources"], seen)


class _ImportedPdfBytes(content.PdfContent):
    """The first page of a PDF held in memory, as stamp content (pyHanko's own reads a file)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        super().__init__()

    def render(self) -> bytes:
        writer = self._ensure_writer
        xobject = writer.import_page_as_xobject(PdfFileReader(io.BytesIO(self.data)), page_ix=0)
        _retag_font_subsets(xobject.get_object()["/Resources"])
        name = "/Import" + uuid.uuid4().hex
        self.resources.xobject[name] = xobject
        x1, y1, x2, y2 = xobject.get_object()["/BBox"]
        self.box = layout.BoxConstraints(width=abs(x1 - x2), height=abs(y1 - y2))
        return name.encode() + b" Do"


def sign_update(
    pdf: bytes,
    *,
    appearance_pdf: bytes,
    box: tuple[int, int, int, int],
    org: OrgSigner,
    org_name: str,
    tsa_url: str | None,
    reason: str,
) -> bytes:
    """Add a visible signature on the last page whose appearance is `appearance_pdf`'s page.

    A new signature field is the one incremental change PDF validators accept after an
    approval signature, so the first signature stays valid.
    """
    meta = _meta(WITHDRAWAL_FIELD, reason, org_name)

    def make_signer() -> signers.PdfSigner:
        # A new stamp each time: its content keeps references into the writer it drew for.
        style = StaticStampStyle(background=_ImportedPdfBytes(appearance_pdf), border_width=0)
        return signers.PdfSigner(
            meta,
            org.signer,
            timestamper=_timestamper(tsa_url),
            stamp_style=style,
            new_field_spec=fields.SigFieldSpec(WITHDRAWAL_FIELD, on_page=-1, box=box),
        )

    return _run(make_signer, pdf, tsa_url)
