"""SMS length: GSM-7 (basic alphabet and the double-width extension table) or UCS-2, the
segments each template takes in every language with realistic long values, stored on the
message."""

from __future__ import annotations

import pytest
from notify_builders import booking_data

from services.booking.demo import PROFILE as DEMO_PROFILE
from services.notify import rendering
from services.notify.channels import SmsSize, sms_body, sms_size
from shared.languages import LANGUAGES
from shared.organization import OrgProfile

PUBLIC = "https://book.maplecommunity.org"  # a realistic long public address
LONG = {
    "client_name": "Anastasia Konstantinopoulou",
    "service_name": "Settlement counselling",
    "staff_name": "Marie-Claire Beauchamp-Leblanc",
    "org_name": "Maple Community Services",
    "org_phone": "+1 416 555 0199",
    "start": "2026-09-16T18:30:00Z",  # a Wednesday in September: long day and month names
    "end": "2026-09-16T19:30:00Z",
    "previous_start": "2026-09-14T18:30:00Z",
    "timezone": "America/Toronto",
    "mode": "phone",
    "manage_url": f"{PUBLIC}/booking/m/{'A' * 32}",  # booking's short manage link
    "form_title": "Consent to counselling services",
    "signing_url": f"{PUBLIC}/consent/sign/fdc_{'x' * 43}",
    "download_url": f"{PUBLIC}/consent/records/fdr_{'y' * 43}.pdf",
    "thread_url": f"{PUBLIC}/booking/questions/fdq_{'z' * 48}",  # an "ask us" thread
    "appointment_id": 123456,
    "outcome": "follow_up_needed",
    "event": "booked",
    "consent_missing": True,
    # The console's messages to staff (sign-in links, invitations, the weekly summary).
    "sign_in_url": f"{PUBLIC}/console/sign-in/fdl_{'z' * 43}",
    "console_url": f"{PUBLIC}/console/?day=2026-09-14",
    "settings_url": f"{PUBLIC}/console/availability#summary",
    "week_start": "2026-09-14T04:00:00Z",
}
VIDEO = {"mode": "video", "video_url": "https://meet.jit.si/maple-7f3c9e2a41b8"}
# A consent link is 90+ characters, longer than a UCS-2 segment (67) by itself.
CONSENT_LINKS = ("consent_request", "consent_reminder", "consent_signed")
CONSOLE_LINKS = ("console_sign_in", "console_invitation", "console_weekly_summary")
WITH_LINK = (
    "booking_confirmation",
    "booking_rescheduled",
    "booking_lost_links",
    "booking_question_answered",
    *CONSENT_LINKS,
    *CONSOLE_LINKS,
)


def rendered(template: str, locale: str, **extra) -> str:
    return sms_body(rendering.render(template=template, locale=locale, data={**LONG, **extra}).sms)


def expected_most(template: str, locale: str, video: bool) -> int:
    """The most segments a template may take.

    GSM-7 (en, fr, es): one segment (160) for a message without a link; a message carrying a
    link (the 75-character short manage link, a 90-character consent link, a video link) takes
    two, as the name, the phone number, the time and "replies are not read" leave no room.
    Arabic is UCS-2: 70 characters in one segment, 67 each when split, and every character of
    the Latin name, number and link counts as one (the 24-character name, the 15-character
    number and the date alone take most of a segment): three at most, four with a consent
    link (the link alone fills a segment and a half).
    """
    link = template in WITH_LINK or video
    if locale != "ar":
        return 2 if link else 1
    return 4 if template in CONSENT_LINKS else 3


@pytest.mark.parametrize("locale", LANGUAGES)
@pytest.mark.parametrize("template", rendering.TEMPLATES)
def test_every_sms_template_fits_its_segments_in_every_language(template, locale):
    cases = [({}, False)] + ([(VIDEO, True)] if template == "booking_reminder" else [])
    for extra, video in cases:
        body = rendered(template, locale, **extra)
        size = sms_size(body)
        assert size.encoding == ("UCS-2" if locale == "ar" else "GSM-7"), body
        assert size.segments <= expected_most(template, locale, video), (len(body), body)
        assert "None" not in body and "  " not in body


@pytest.mark.parametrize("locale", LANGUAGES)
def test_client_sms_says_replies_are_not_read_and_gives_the_phone_only_when_known(locale):
    said, asking = {
        "en": ("Replies are not read.", "Questions:"),
        "fr": ("Réponses non lues.", "Questions :"),
        "es": ("No leemos las respuestas.", "Preguntas:"),
        "ar": ("لا نقرأ الردود.", "للاستفسار:"),
    }[locale]
    # Arabic marks the number left to right (test_arabic_sms_keep_the_phone_number_...).
    number = ("\u200e" if locale == "ar" else "") + "+1 416 555 0199"
    with_phone = rendered("booking_cancelled", locale)
    without = rendered("booking_cancelled", locale, org_phone=None)
    assert with_phone.endswith(f"{asking} {number}. {said}")
    # No phone number: its whole sentence goes, no dangling "Questions:".
    assert without.endswith(said) and asking not in without and "  " not in without


# Characters that steer the bidi algorithm: LRM, RLM, the embeddings and overrides, the isolates.
BIDI_CONTROLS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def demo_sms(template: str, locale: str) -> str:
    """The SMS with the demo organization's profile (its phone: +1 416-555-0123)."""
    return rendered(template, locale, **OrgProfile.from_api(DEMO_PROFILE).message_context(locale))


def test_arabic_sms_keep_the_phone_number_left_to_right_within_their_segments():
    """In a right-to-left sentence the number's digits are Arabic numbers to the bidi algorithm
    and its groups come out reversed ("0123-555-416 1+"): a left-to-right mark before it makes
    them one left-to-right run, in the order they were written. One UTF-16 unit: an isolate
    (LRI ... PDI) takes two, and the long confirmation (LONG) has room for one only."""
    for template in ("booking_confirmation", "booking_reminder", "booking_cancelled"):
        body = demo_sms(template, "ar")
        assert "للاستفسار: \u200e+1 416-555-0123. لا نقرأ الردود." in body, body
        assert body.count("\u200e") == 1 and not (set(BIDI_CONTROLS) - {"\u200e"}) & set(body)
        assert sms_size(body).segments == sms_size(body.replace("\u200e", "")).segments
        assert sms_size(body).segments <= expected_most(template, "ar", video=False)
    assert sms_size(demo_sms("booking_confirmation", "ar")) == SmsSize("UCS-2", 3)


def test_sms_in_left_to_right_languages_carry_no_direction_marks():
    for template in rendering.TEMPLATES:
        for locale in ("en", "fr", "es"):
            body = demo_sms(template, locale)
            assert not set(BIDI_CONTROLS) & set(body), (template, locale, body)
    link = "https://book.maplecommunity.org/booking/m/" + "A" * 32
    assert [demo_sms("booking_confirmation", locale) for locale in ("en", "fr", "es")] == [
        "Maple Community Services: appointment confirmed, Wed, Sep 16 2:30 PM. "
        f"Change/cancel: {link} Questions: +1 416-555-0123. Replies are not read.",
        "Maple Community Services : rendez-vous confirmé le mer. 16 sept. 14:30. "
        f"Modifier/annuler : {link} Questions : +1 416-555-0123. Réponses non lues.",
        "Maple Community Services: cita confirmada el mié, 16 sept 14:30. "
        f"Cambiar/cancelar: {link} Preguntas: +1 416-555-0123. No leemos las respuestas.",
    ]


def test_a_left_to_right_mark_stays_in_a_ucs_2_body_and_goes_from_a_gsm_7_one():
    assert sms_body("Questions: \u200e+1 416-555-0123.") == "Questions: +1 416-555-0123."
    assert sms_size(sms_body("\u200e" + "a" * 160)) == SmsSize("GSM-7", 1)
    arabic = "للاستفسار: \u200e+1 416-555-0123."
    assert sms_body(arabic) == arabic
    assert sms_body("16\u200f/09\u200f/2026 م") == "16/09/2026 م"  # Babel's RLMs: dropped as before


def test_gsm_7_counts_160_then_153_and_extension_characters_twice():
    assert sms_size("a" * 160) == SmsSize("GSM-7", 1)
    assert sms_size("a" * 161) == SmsSize("GSM-7", 2)
    assert sms_size("a" * 306) == SmsSize("GSM-7", 2)
    assert sms_size("a" * 307) == SmsSize("GSM-7", 3)
    assert sms_size("€" * 80) == SmsSize("GSM-7", 1)  # 160 septets
    assert sms_size("€" * 81) == SmsSize("GSM-7", 2)
    # An escape pair never straddles two segments: 152 + a 2-septet character, then 1 more.
    assert sms_size("a" * 152 + "[" + "a" * 7) == SmsSize("GSM-7", 2)
    assert sms_size("a" * 152 + "[" + "a" * 153) == SmsSize("GSM-7", 3)


def test_ucs_2_counts_70_then_67_and_any_character_outside_gsm_switches_the_whole_body():
    assert sms_size("ب" * 70) == SmsSize("UCS-2", 1)
    assert sms_size("ب" * 71) == SmsSize("UCS-2", 2)
    assert sms_size("ب" * 134) == SmsSize("UCS-2", 2)
    assert sms_size("ب" * 135) == SmsSize("UCS-2", 3)
    assert sms_size("a" * 69 + "✓") == SmsSize("UCS-2", 1)
    assert sms_size("a" * 70 + "✓") == SmsSize("UCS-2", 2)
    assert sms_size("😀" * 35) == SmsSize("UCS-2", 1)  # two UTF-16 units each


def test_accents_outside_gsm_are_dropped_only_when_that_makes_the_body_gsm_7():
    assert sms_body("sáb, 15 ago 14:30") == "sab, 15 ago 14:30"
    assert sms_body("le 15 août à 9:00\u202fAM, « oui »") == 'le 15 aout à 9:00 AM, " oui "'
    assert sms_body("é è à ù ñ ü Ç") == "é è à ù ñ ü Ç"  # GSM-7 letters stay
    arabic = "موعدك يوم الأحد"
    assert sms_body(arabic + " á") == arabic + " á"  # UCS-2 anyway: written as it is


def test_an_sms_stores_its_segments_and_an_email_none(post_message):
    long_text = "x" * 200
    sms = post_message(channel="sms", to="+14165550100", template=None, data=None, text=long_text)
    assert sms.status_code == 201 and sms.json["segments"] == 2
    templated = post_message(channel="sms", to="+14165550100", template="booking_reminder").json
    body = sms_body(
        rendering.render(template="booking_reminder", locale="en", data=booking_data()).sms
    )
    assert templated["segments"] == sms_size(body).segments == 1
    assert post_message().json["segments"] is None
