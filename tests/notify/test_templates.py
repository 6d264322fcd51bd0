"""Every template renders in every locale; French, Spanish and Arabic are really translated."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from services.notify import rendering


@pytest.mark.parametrize("locale", rendering.LOCALES)
@pytest.mark.parametrize("template", rendering.TEMPLATES)
def test_template_renders_every_part(template, locale, make_template_data):
    rendered = rendering.render(template=template, locale=locale, data=make_template_data(template))
    assert rendered.subject
    assert "\n" not in rendered.subject
    assert rendered.text.strip()
    assert rendered.html.lstrip().startswith("<!DOCTYPE html>")
    assert f'lang="{locale}"' in rendered.html
    assert 0 < len(rendered.sms) <= 320


ENGLISH_WORDS = {"your", "appointment", "please", "sign", "reminder", "confirmed", "cancelled"}


@pytest.mark.parametrize("locale", ["fr", "es", "ar"])
@pytest.mark.parametrize("template", rendering.TEMPLATES)
def test_no_english_left_in_translated_subjects(template, locale, make_template_data):
    data = make_template_data(template)
    rendered = rendering.render(template=template, locale=locale, data=data)
    sample_words = " ".join(str(v) for v in data.values()).lower()
    words = {w.strip(":,.«»") for w in rendered.subject.lower().split()}
    leftovers = {w for w in words & ENGLISH_WORDS if w not in sample_words}
    assert leftovers == set()
    english = rendering.render(template=template, locale="en", data=data)
    assert rendered.subject != english.subject
    assert rendered.text != english.text


def test_times_show_in_the_recipients_zone_and_language(make_booking_data):
    data = make_booking_data(start="2026-11-24T14:00:00Z", timezone="Europe/Paris")
    fr = rendering.render(template="booking_confirmation", locale="fr", data=data)
    assert "mardi 24 novembre 2026, 15:00" in fr.text
    en = rendering.render(
        template="booking_confirmation", locale="en", data={**data, "timezone": "America/Toronto"}
    )
    assert "Tuesday, November 24, 2026, 9:00" in en.text


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("video", "If the video does not work, we will call you at +14165550100"),
        ("phone", "We will call you at +14165550100"),
        ("in_person", "Where: 12 Harbour St."),
    ],
)
def test_how_to_join_depends_on_mode(mode, expected, make_booking_data):
    data = make_booking_data(mode=mode, location="12 Harbour St.")
    rendered = rendering.render(template="booking_confirmation", locale="en", data=data)
    assert expected in rendered.text


def test_missing_locale_file_falls_back_to_english(make_template_data, tmp_path, monkeypatch):
    import shutil

    (tmp_path / "en").mkdir()
    for path in (rendering.TEMPLATE_DIR / "en").iterdir():
        shutil.copy(path, tmp_path / "en" / path.name)
    (tmp_path / "fr").mkdir()
    shutil.copy(
        rendering.TEMPLATE_DIR / "fr" / "consent_request.subject.txt",
        tmp_path / "fr" / "consent_request.subject.txt",
    )
    monkeypatch.setattr(rendering, "TEMPLATE_DIR", tmp_path)
    rendering._environment.cache_clear()
    try:
        rendered = rendering.render(
            template="consent_request", locale="fr", data=make_template_data("consent_request")
        )
    finally:
        rendering._environment.cache_clear()
    assert rendered.subject.startswith("À signer")
    assert rendered.text.startswith("Hello Ana Lima")


def _with_optional_fields_empty(template: str, data: dict, mode: str) -> dict:
    """`data` with every field a template may go without set to null, nested ones too."""
    emptied = {
        key: (value if key in rendering.REQUIRED_DATA[template] else None)
        for key, value in data.items()
    }
    for key in ("location", "video_url", "manage_url", "reason", "expires_at", "client_email"):
        emptied.setdefault(key, None)
    if "mode" in rendering.REQUIRED_DATA[template]:
        emptied["mode"] = mode
        if mode == "video":  # the API refuses a video session without its link
            emptied["video_url"] = data["video_url"]
        emptied["backup"] = {"callback_number": None, "dial_in": None}
        emptied["accommodations"] = {"captions": False, "interpreter_language": None, "other": None}
        emptied["resources"] = [
            {"title": "Before your intake", "url": None, "text": "ID, PR card"},
            {"title": "Bring a friend", "url": None, "text": None},
        ]
    return emptied


@pytest.mark.parametrize("mode", rendering.MODES)
@pytest.mark.parametrize("locale", rendering.LOCALES)
@pytest.mark.parametrize("template", rendering.TEMPLATES)
def test_no_template_shows_none_or_an_empty_link_for_a_missing_optional_field(
    template, locale, mode, make_template_data
):
    data = _with_optional_fields_empty(template, make_template_data(template), mode)
    rendered = rendering.render(template=template, locale=locale, data=data)
    for part in (rendered.subject, rendered.text, rendered.html, rendered.sms):
        assert "None" not in part
    assert 'href=""' not in rendered.html
    if template in ("booking_confirmation", "booking_reminder", "booking_rescheduled"):
        assert "Before your intake" in rendered.text and "ID, PR card" in rendered.text


REPLY_WORDS = ("reply to this email", "répondre à ce courriel", "répondez à ce courriel")
REPLY_WORDS += ("responder a este correo", "responda a este correo")
REPLY_WORDS += ("الرد على هذه الرسالة", "رُدّ على هذه الرسالة")


@pytest.mark.parametrize("locale", rendering.LOCALES)
@pytest.mark.parametrize("template", rendering.TEMPLATES)
def test_templates_ask_for_a_reply_only_when_replies_reach_someone(
    template, locale, make_template_data
):
    data = make_template_data(template)
    silent = rendering.render(template=template, locale=locale, data=data)
    for part in (silent.text, silent.html):
        assert not [words for words in REPLY_WORDS if words in part.lower()]
    if template in ("booking_cancelled", "consent_request", "consent_withdrawn"):
        replying = rendering.render(template=template, locale=locale, data=data, can_reply=True)
        for part in (replying.text, replying.html):
            assert [words for words in REPLY_WORDS if words in part.lower()]


@pytest.mark.parametrize("locale", ["en", "fr", "es", "ar"])
def test_names_and_free_text_in_html_emails_are_isolated(locale, make_booking_data):
    """A right-to-left override in a name or a note stays inside its <bdi>: it cannot
    reorder the sentence around it in the email."""
    data = make_booking_data(
        client_name="\u202eanA",
        accommodations={"captions": False, "interpreter_language": None, "other": "ramp \u202e"},
    )
    rendered = rendering.render(template="booking_confirmation", locale=locale, data=data)
    assert "<bdi>\u202eanA</bdi>" in rendered.html
    assert "<bdi>ramp \u202e</bdi>" in rendered.html
    assert "<bdi>Dr. Chloé Martin</bdi>" in rendered.html


def _values(data: Any) -> list[str]:
    """Every string (and number) in the data: names, titles and URLs the email may quote."""
    if isinstance(data, dict):
        return [text for value in data.values() for text in _values(value)]
    if isinstance(data, list):
        return [text for value in data for text in _values(value)]
    return [] if data is None or isinstance(data, bool) else [str(data)]


def _latin_words_left(part: str, data: dict[str, Any]) -> list[str]:
    part = html.unescape(re.sub(r"<[^>]*>", " ", part))  # tags, attributes, entities
    for value in sorted(_values(data), key=len, reverse=True):
        part = part.replace(value, " ")
    return re.findall(r"[A-Za-z]{2,}", part)


ARABIC_CASES = [
    (template, mode, event)
    for template in rendering.TEMPLATES
    for mode in (rendering.MODES if template.startswith("booking_") else ("video",))
    for event in (
        ("booked", "cancelled", "rescheduled", "consent_withdrawn")
        if template == "booking_staff_notice"
        else ("booked",)
    )
]


@pytest.mark.parametrize(("template", "mode", "event"), ARABIC_CASES)
def test_arabic_emails_and_sms_have_no_english_left(template, mode, event, make_template_data):
    data = make_template_data(template)
    if template.startswith("booking_"):
        data = {**data, "mode": mode, "event": event, "location": "12 Harbour St."}
        data["form_title"] = "Consent to treatment"
    for can_reply in (False, True):
        rendered = rendering.render(template=template, locale="ar", data=data, can_reply=can_reply)
        assert 'dir="rtl"' in rendered.html
        for part in (rendered.subject, rendered.text, rendered.html, rendered.sms):
            assert _latin_words_left(part, data) == []
