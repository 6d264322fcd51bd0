"""Signed records checked by real validators: pyHanko's CLI, poppler's pdfsig and pdftotext."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import struct
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pypdf
import pytest
from consent_builders import form_content
from consent_validators import pdfsig, pdftotext, pyhanko_validate

from services.consent.errors import InvalidSignatureImage, SigningUnavailable
from services.consent.models import ConsentRequest
from services.consent.operations import forms, records, requests, signing, verification


def tiny_png(width: int = 2, height: int = 1) -> bytes:
    """A real PNG (black pixels)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def data_url(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60"><path d="M5 50 C40 5, 80 5, 195 50" stroke="black" fill="none"/></svg>'


@pytest.fixture
def signed(make_request, sign_request):
    _request, token = make_request()
    return sign_request(token, signature_image=data_url("image/png", tiny_png()))


def write(tmp_path, data: bytes, name: str = "record.pdf"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_signed_record_passes_pyhanko_validation_with_instance_root(signed, tmp_path, root_pem):
    result = pyhanko_validate(write(tmp_path, signed.record.pdf), root_pem)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ":INTACT:TRUSTED,UNTOUCHED" in result.stdout


def test_signed_record_is_valid_and_whole_file_for_pdfsig(signed, tmp_path):
    report = pdfsig(write(tmp_path, signed.record.pdf))
    assert report.count("Signature #") == 1
    assert "Signature is Valid." in report
    assert "Total document signed" in report


def test_one_changed_byte_breaks_both_validators(signed, tmp_path, root_pem):
    pdf = bytearray(signed.record.pdf)
    # A byte inside the signed range, in the page content (not the signature itself).
    position = pdf.index(b"/Type /Page") + 2
    pdf[position] ^= 0x01
    path = write(tmp_path, bytes(pdf), "tampered.pdf")
    result = pyhanko_validate(path, root_pem)
    assert result.returncode != 0
    assert "INTACT" not in result.stdout.replace("UNTOUCHED", "")
    report = pdfsig(path)
    assert "Signature is Valid." not in report
    assert "Digest Mismatch" in report or "Invalid" in report


def test_record_text_has_name_template_hash_and_events(signed, tmp_path):
    text = pdftotext(write(tmp_path, signed.record.pdf))
    version = signed.request.version
    compact = "".join(text.split())
    assert "Ana López" in text
    assert version.content_sha256 in compact
    assert signed.record.evidence_sha256 in compact
    for kind in ("created", "disclosure_accepted", "signed"):
        assert kind in text
    assert "she/her" in text
    assert "America/Toronto" in text


def test_record_is_pdf_a_3b_with_evidence_attached_and_tagged(signed):
    reader = pypdf.PdfReader(io.BytesIO(signed.record.pdf))
    assert "evidence.json" in reader.attachments
    evidence_bytes = reader.attachments["evidence.json"][0]
    evidence = json.loads(evidence_bytes)
    assert hashlib.sha256(evidence_bytes).hexdigest() == signed.record.evidence_sha256
    assert evidence["record_id"] == signed.record.id
    assert evidence["template"]["content_sha256"] == signed.request.version.content_sha256
    assert [e["kind"] for e in evidence["events"]] == ["created", "disclosure_accepted", "signed"]
    assert "/StructTreeRoot" in reader.trailer["/Root"]
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b'pdfaid:part="3"' in xmp and b'pdfaid:conformance="B"' in xmp


def test_withdrawal_update_keeps_first_signature_valid(
    signed, session, settings, origin, tmp_path, root_pem
):
    requests.withdraw(
        session=session,
        request=signed.request,
        withdrawn_by="the client",
        reason="Changed my mind",
        settings=settings,
        origin=origin,
    )
    record = signed.request.record
    assert record.pdf.startswith(signed.record.pdf[:1000])
    path = write(tmp_path, record.pdf, "withdrawn.pdf")
    report = pdfsig(path)
    assert report.count("Signature #") == 2
    first, second = report.split("Signature #2:")
    assert "Signature is Valid." in first and "Not total document signed" in first
    assert "Signature is Valid." in second and "Total document signed" in second
    result = pyhanko_validate(path, root_pem)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{signing.RECORD_FIELD}:" in result.stdout
    assert "ACCEPTABLE_MODIFICATIONS" in result.stdout
    text = pdftotext(path)
    assert "Consent withdrawn" in text and "Changed my mind" in text
    assert record.signed_file_sha256 != record.current_file_sha256


def test_typed_name_alone_is_a_valid_signature(make_request, sign_request, tmp_path, root_pem):
    _request, token = make_request()
    result = sign_request(token)
    assert result.request.status == "signed"
    assert pyhanko_validate(write(tmp_path, result.record.pdf), root_pem).returncode == 0


def test_svg_signature_is_drawn_in_the_record(make_request, sign_request, tmp_path):
    _request, token = make_request()
    result = sign_request(token, signature_image=data_url("image/svg+xml", SVG))
    assert result.record.answers["signature_image"]["media_type"] == "image/svg+xml"
    assert "Signature is Valid." in pdfsig(write(tmp_path, result.record.pdf))


@pytest.mark.parametrize(
    "image",
    [
        "data:image/gif;base64,R0lGODlhAQABAAAAACw=",
        data_url("image/png", b"not a png at all"),
        data_url("image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 300_000),
        data_url(
            "image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>'
        ),
        data_url(
            "image/svg+xml",
            b'<!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg"/>',
        ),
        data_url(
            "image/svg+xml",
            b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink"><image x:href="file:///etc/passwd"/></svg>',
        ),
        data_url("image/png", tiny_png(width=10_000)),
        "data:image/png;base64,@@@",
    ],
    ids=[
        "gif",
        "fake-png",
        "oversized",
        "svg-script",
        "svg-entity",
        "svg-external",
        "huge-png",
        "bad-base64",
    ],
)
def test_bad_signature_images_are_refused_and_request_stays_pending(
    make_request, sign_request, image
):
    request, token = make_request()
    with pytest.raises(InvalidSignatureImage) as caught:
        sign_request(token, signature_image=image)
    assert caught.value.status == 422
    assert "signature_image" in caught.value.errors
    assert request.status == "pending"


def test_proxy_signer_is_recorded_with_relationship(make_request, sign_request, tmp_path):
    _request, token = make_request()
    result = sign_request(token, typed_name="María López", proxy_relationship="parent")
    text = pdftotext(write(tmp_path, result.record.pdf))
    assert "María López" in text and "parent" in text
    assert result.record.answers["signer"] == {
        "typed_name": "María López",
        "proxy": True,
        "relationship": "parent",
    }


def test_new_version_never_changes_a_signed_record(
    make_request, sign_request, session, make_template
):
    template = make_template()
    request, token = make_request(template=template)
    result = sign_request(token)
    before = (result.record.pdf, request.version.content_sha256, request.version.number)
    content = request.version.content | {"validity_days": 30}
    new = forms.publish_version(session=session, template=template, content=content)
    assert new.number == 2 and new.content_sha256 != before[1]
    session.refresh(request)
    assert (request.record.pdf, request.version.content_sha256, request.version.number) == before


def test_missing_signing_key_is_a_503_and_nothing_is_kept(
    consent_app, make_request, sign_request, session, tmp_path
):
    request, token = make_request()
    session.commit()
    original = consent_app.config["SIGNING_P12"]
    consent_app.config["SIGNING_P12"] = str(tmp_path / "missing.p12")
    try:
        client = consent_app.test_client()
        response = client.post(
            f"/api/v1/sign/{token}",
            json={
                "typed_name": "Ana López",
                "disclosure_accepted": True,
                "checkboxes": {"recording": True, "sharing": True},
            },
        )
    finally:
        consent_app.config["SIGNING_P12"] = original
    assert response.status_code == 503
    assert response.get_json()["code"] == "signing_unavailable"
    session.expire_all()
    fresh = session.get(ConsentRequest, request.id)
    assert fresh.status == "pending" and fresh.record is None
    assert [e.kind for e in fresh.events] == ["created"]


def test_unwritable_instance_folder_is_a_503_before_anything_is_rendered(
    make_request, sign_request, settings, origin, session, tmp_path
):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    _request, token = make_request()
    with pytest.raises(SigningUnavailable) as caught:
        requests.sign(
            session=session,
            token=token,
            typed_name="Ana López",
            disclosure_accepted=True,
            checkboxes={"recording": True, "sharing": True},
            settings=replace(settings, instance_dir=str(blocked)),
            origin=origin,
        )
    assert caught.value.status == 503


def test_p12_certificate_is_used_when_configured(
    make_request, session, settings, origin, tmp_path, root_pem
):
    from cryptography.hazmat.primitives.serialization import (
        BestAvailableEncryption,
        load_pem_private_key,
        pkcs12,
    )
    from cryptography.x509 import load_pem_x509_certificate

    folder = tmp_path / "ca"
    folder.mkdir()
    signing.generate_instance_ca(folder, "Maple Community Services")
    key = load_pem_private_key((folder / "signing-key.pem").read_bytes(), None)
    certificate = load_pem_x509_certificate((folder / "signing.pem").read_bytes())
    root = load_pem_x509_certificate((folder / "root.pem").read_bytes())
    p12 = tmp_path / "org.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"org", key, certificate, [root], BestAvailableEncryption(b"s3cret")
        )
    )
    p12_settings = replace(settings, p12_path=str(p12), p12_password="s3cret")
    _request, token = make_request()
    result = requests.sign(
        session=session,
        token=token,
        typed_name="Ana López",
        disclosure_accepted=True,
        checkboxes={"recording": True, "sharing": True},
        settings=p12_settings,
        origin=origin,
    )
    trust = write(tmp_path, p12_settings.signer().root_pem, "p12-root.pem")
    assert trust.read_bytes() == (folder / "root.pem").read_bytes()
    assert pyhanko_validate(write(tmp_path, result.record.pdf), trust).returncode == 0
    # ...and it does not chain to the instance's own root.
    assert pyhanko_validate(write(tmp_path, result.record.pdf, "b.pdf"), root_pem).returncode != 0
    verdict = verification.verify_pdf(session=session, pdf=result.record.pdf, org=settings.signer())
    assert verdict.valid is False
    assert "does not chain to this instance's root" in verdict.reason
    assert verdict.signatures[0]["intact"] is True


def test_record_and_withdrawal_are_in_the_clients_language(
    make_request, sign_request, session, settings, origin, tmp_path
):
    request, token = make_request(locale="es")
    sign_request(token)
    requests.withdraw(
        session=session,
        request=request,
        withdrawn_by="la clienta",
        reason="Cambié de opinión",
        settings=settings,
        origin=origin,
    )
    text = pdftotext(write(tmp_path, request.record.pdf))
    assert "Grabación de la sesión e intercambio de" in text
    assert "Registro de auditoría" in text and "Respuestas" in text
    assert "Consentimiento retirado" in text and "Cambié de opinión" in text


# --- what /verify says about a file (issue 20, points 12 and 13) ------------------------------


def _withdraw(session, request, settings, origin):
    requests.withdraw(
        session=session,
        request=request,
        withdrawn_by="the client",
        reason="Changed my mind",
        settings=settings,
        origin=origin,
    )


def test_verify_says_a_fresh_record_is_in_force_and_current(signed, session, settings):
    verdict = verification.verify_pdf(session=session, pdf=signed.record.pdf, org=settings.signer())
    assert verdict.authentic is True and verdict.valid is True
    assert verdict.in_force is True and verdict.in_force_reason is None
    assert verdict.current_revision is True and verdict.revision_note is None


def test_verify_says_an_earlier_revision_of_a_withdrawn_record_is_not_in_force(
    signed, session, settings, origin
):
    first_revision = signed.record.pdf
    _withdraw(session, signed.request, settings, origin)
    verdict = verification.verify_pdf(session=session, pdf=first_revision, org=settings.signer())
    assert verdict.authentic is True  # the file is still what this instance signed...
    assert verdict.in_force is False  # ...but the consent it records was withdrawn
    assert "withdrawn" in verdict.in_force_reason
    assert verdict.withdrawn_at == signed.record.withdrawn_at
    assert verdict.current_revision is False
    assert "earlier revision" in verdict.revision_note
    current = verification.verify_pdf(session=session, pdf=signed.record.pdf, org=settings.signer())
    assert current.authentic is True and current.in_force is False
    assert current.current_revision is True and current.revision_note is None
    cut = signed.record.pdf[: len(first_revision) + 200]  # a broken copy is no revision
    broken = verification.verify_pdf(session=session, pdf=cut, org=settings.signer())
    assert broken.current_revision is False and "not a revision" in broken.revision_note


def test_verify_says_a_consent_past_its_validity_is_not_in_force(signed, session, settings):
    signed.record.signed_at -= timedelta(days=30)
    signed.record.valid_until = signed.record.signed_at + timedelta(days=1)
    session.flush()
    verdict = verification.verify_pdf(session=session, pdf=signed.record.pdf, org=settings.signer())
    assert verdict.authentic is True and verdict.in_force is False
    assert "expired" in verdict.in_force_reason
    assert verdict.valid_until == signed.record.valid_until


def test_a_file_that_is_not_a_record_has_no_in_force_answer(session, settings):
    verdict = verification.verify_pdf(session=session, pdf=b"%PDF-1.7\n", org=settings.signer())
    assert verdict.authentic is False
    assert verdict.in_force is None and verdict.current_revision is None


def test_signature_valid_means_intact_and_valid_and_trusted_not_pyhankos_narrow_valid(
    signed, session, settings
):
    tampered = bytearray(signed.record.pdf)
    tampered[tampered.index(b"/Type /Page") + 2] ^= 0x01
    verdict = verification.verify_pdf(session=session, pdf=bytes(tampered), org=settings.signer())
    [signature] = verdict.signatures
    assert signature["intact"] is False
    assert signature["valid"] is False  # pyHanko's own `valid` is True here
    assert signature["cryptographically_valid"] is True
    good = verification.verify_pdf(session=session, pdf=signed.record.pdf, org=settings.signer())
    assert good.signatures[0]["valid"] is True


def test_verify_names_the_evidence_hash_and_gives_the_pdf_hash(signed, session, settings):
    reader = pypdf.PdfReader(io.BytesIO(signed.record.pdf))
    evidence = reader.attachments["evidence.json"][0]
    verdict = verification.verify_pdf(session=session, pdf=signed.record.pdf, org=settings.signer())
    assert verdict.evidence_sha256 == hashlib.sha256(evidence).hexdigest()
    assert verdict.pdf_sha256 == hashlib.sha256(signed.record.pdf).hexdigest()
    assert signed.record.evidence_sha256 == verdict.evidence_sha256


# --- the PDF/A file structure of a withdrawn record (issue 20, point 14) ----------------------


def _font_programs_by_name(pdf: bytes) -> dict[str, set[str]]:
    """Every embedded font's name -> the SHA-256s of the font programs carrying that name."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    found: dict[str, set[str]] = {}
    for number in range(1, int(reader.trailer["/Size"])):
        obj = reader.get_object(number)  # None for a free entry
        if (
            isinstance(obj, pypdf.generic.DictionaryObject)
            and obj.get("/Type") == "/FontDescriptor"
        ):
            program = next(
                (obj[key] for key in ("/FontFile", "/FontFile2", "/FontFile3") if key in obj), None
            )
            if program is not None:
                data = program.get_object().get_data()
                found.setdefault(str(obj["/FontName"]).lstrip("/"), set()).add(
                    hashlib.sha256(data).hexdigest()
                )
    return found


def test_withdrawal_update_gives_each_new_font_subset_its_own_tag(
    signed, session, settings, origin
):
    before = _font_programs_by_name(signed.record.pdf)
    _withdraw(session, signed.request, settings, origin)
    after = _font_programs_by_name(signed.request.record.pdf)
    assert len(after) > len(before)  # the withdrawal page brought subsets of its own
    reused = {name: programs for name, programs in after.items() if len(programs) > 1}
    assert reused == {}, "one subset tag names two different font subsets (ISO 32000-1 9.6.4)"
    for name in after:
        assert re.fullmatch(r"[A-Z]{6}\+.+", name), name


def _utc(moment: datetime | None) -> datetime | None:
    """pypdf reads Info dates with their offset and XMP dates as naive UTC: compare in UTC."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _info_and_xmp(pdf: bytes) -> tuple[dict, dict]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    info, xmp = reader.metadata, reader.xmp_metadata
    as_info = {
        "producer": info.producer,
        "creator": info.creator,
        "title": info.title,
        "author": info.author,
        "subject": info.subject,
        "keywords": info.get("/Keywords"),
        "created": _utc(info.creation_date),
        "modified": _utc(info.modification_date),
    }
    as_xmp = {
        "producer": xmp.pdf_producer,
        "creator": xmp.xmp_creator_tool,
        "title": (xmp.dc_title or {}).get("x-default"),
        "author": ", ".join(xmp.dc_creator) if xmp.dc_creator else None,
        "subject": (xmp.dc_description or {}).get("x-default"),
        "keywords": xmp.pdf_keywords,
        "created": _utc(xmp.xmp_create_date),
        "modified": _utc(xmp.xmp_modify_date),
    }
    return as_info, as_xmp


def test_info_dictionary_and_xmp_agree_after_signing_and_after_withdrawal(
    signed, session, settings, origin
):
    info, xmp = _info_and_xmp(signed.record.pdf)
    assert info == xmp
    assert info["producer"] and info["modified"] is not None
    _withdraw(session, signed.request, settings, origin)
    info, xmp = _info_and_xmp(signed.request.record.pdf)
    assert info == xmp
    assert info["modified"] is not None


def test_arabic_record_and_withdrawal_are_in_arabic_right_to_left(
    make_request, make_template, sign_request, session, settings, origin, tmp_path
):
    content = form_content()
    content["locales"]["ar"] = {
        "title": "تسجيل الجلسة ومشاركة المعلومات",
        "body": "نود **تسجيل** هذه الجلسة.",
        "checkboxes": {"recording": "أوافق على التسجيل", "sharing": "أوافق على المشاركة"},
        "fields": {"pronouns": "الضمائر"},
    }
    request, token = make_request(make_template(locales=content["locales"]), locale="ar")
    sign_request(token)
    assert 'dir="rtl"' in records.record_html(request.record, request, "0" * 64, settings.org)
    requests.withdraw(
        session=session,
        request=request,
        withdrawn_by="العميلة",
        reason="غيرت رأيي",
        settings=settings,
        origin=origin,
    )
    path = write(tmp_path, request.record.pdf)
    # pdftotext marks the right-to-left runs with embedding controls, and splits ligatures
    # such as lam-alef and letters with a shadda: the words checked have none.
    text = re.sub("[\u202a-\u202e]", "", pdftotext(path))
    for words in ("سجل الموافقة", "سجل التدقيق", "تاريخ التوقيع", "أوافق على التسجيل"):
        assert words in text, words
    assert "تم سحب الموافقة" in text and "غيرت رأيي" in text
    assert "Audit trail" not in text and "Answers" not in text
    assert "Signature is Valid." in pdfsig(path)
