"""Every message carries the organization's contacts, and none says "call us" or "contact ..."
without the phone number beside it, in every template and every language."""

from __future__ import annotations

import re

import pytest

from services.notify import rendering
from shared.organization import OrgProfile

ORG = OrgProfile(
    name="Maple Community Services",
    phone="+14165550123",
    email="hello@maple.example",
    address="120 Maple Street, Toronto ON M5V 2T6",
    hours={"en": "Monday to Friday, 9:00 to 17:00", "ar": "من الاثنين إلى الجمعة"},
    reply_to="frontdesk@maple.example",
)
PHONE = "+1 416-555-0123"  # how messages print it
# Phrases that send the reader to the organization, in every language the suite speaks:
# each must have the number right after it (within a short distance), or not be there at all.
ASK_PHRASES = re.compile(
    r"call us|contact us|contact Maple|phone us"
    r"|appelez-nous|contactez-nous|nous contacter|contactez Maple"
    r"|llámenos|contáctenos|comuníquese con Maple|comuníquese con nosotros"
    r"|اتصل بنا|تواصل معنا|تواصل مع Maple|الاتصال بنا",
    re.IGNORECASE,
)
NEAR = 60  # characters between a phrase and the number


def rendered_parts(template: str, locale: str, data: dict) -> dict[str, str]:
    result = rendering.render(template=template, locale=locale, data=data)
    return {"text": result.text, "html": result.html, "sms": result.sms, "subject": result.subject}


@pytest.mark.parametrize("locale", rendering.LOCALES)
@pytest.mark.parametrize("template", rendering.TEMPLATES)
def test_every_email_ends_with_the_organizations_contacts(make_template_data, template, locale):
    data = {**make_template_data(template), **ORG.message_context(locale)}
    parts = rendered_parts(template, locale, data)
    for part in ("text", "html"):
        body = parts[part]
        assert "Maple Community Services" in body, part
        assert PHONE in body and "hello@maple.example" in body, part
        assert "120 Maple Street" in body, part
        assert ORG.hours_in(locale) in body, part
        assert "None" not in body, part
    assert 'href="tel:+14165550123"' in parts["html"]


@pytest.mark.parametrize("locale", rendering.LOCALES)
@pytest.mark.parametrize("template", rendering.TEMPLATES)
@pytest.mark.parametrize("can_reply", [False, True])
def test_no_message_sends_the_reader_to_us_without_the_number(
    make_template_data, template, locale, can_reply
):
    data = {**make_template_data(template), **ORG.message_context(locale)}
    result = rendering.render(template=template, locale=locale, data=data, can_reply=can_reply)
    for part, body in (("text", result.text), ("html", result.html), ("sms", result.sms)):
        plain = re.sub(r"<[^>]+>", "", body)
        for found in ASK_PHRASES.finditer(plain):
            after = plain[found.end() : found.end() + NEAR]
            assert PHONE in after, f"{template}.{part} ({locale}): {found.group()!r} {after!r}"


@pytest.mark.parametrize("locale", rendering.LOCALES)
@pytest.mark.parametrize("template", rendering.TEMPLATES)
def test_without_a_phone_no_message_says_call_us(make_template_data, template, locale):
    data = {**make_template_data(template), **OrgProfile(name="Maple").message_context(locale)}
    parts = rendered_parts(template, locale, data)
    for part, body in parts.items():
        assert not re.search(r"call us|appelez-nous|llámenos|اتصل بنا", body, re.I), part
        assert "None" not in body, part


def test_the_phrase_scan_catches_a_phrase_without_the_number():
    text = "If something is not clear, contact Maple Community Services before you sign."
    assert ASK_PHRASES.search(text)
    assert PHONE not in text[ASK_PHRASES.search(text).end() :]


def test_arabic_text_keeps_the_phone_number_left_to_right(make_template_data):
    data = {**make_template_data("consent_signed"), **ORG.message_context("ar")}
    result = rendering.render(template="consent_signed", locale="ar", data=data)
    assert f"\u2066{PHONE}\u2069" in result.text
    assert f'dir="ltr">{PHONE}</a>' in result.html
