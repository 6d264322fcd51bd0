"""'Ask us' in real Chromium at 390 px: the form from the help center, its error with the input
kept, and the client's thread; axe-core (WCAG 2.2 AA) on each in en/fr/es/ar."""

from __future__ import annotations

import pytest
from browser_checks import (
    WCAG_22_AA,
    check_accessibility,
    expect_heading,
    narrow_enough,
    screenshot,
)

pytestmark = pytest.mark.browser

HEADINGS = {
    "en": ("Ask a question", "Ask us", "Your question"),
    "fr": ("Poser une question", "Posez-nous une question", "Votre question"),
    "es": ("Hacer una pregunta", "Pregúntenos", "Su pregunta"),
    "ar": ("اطرح سؤالًا", "اسألنا", "سؤالك"),
}


def accessible_and_narrow(page) -> None:
    assert check_accessibility(page, WCAG_22_AA) == []
    narrow_enough(page)


@pytest.mark.parametrize("lang", list(HEADINGS))
def test_ask_us_form_and_thread_are_accessible_in_each_language(served, phone, lang):
    link, form_heading, thread_heading = HEADINGS[lang]
    page = phone
    page.set_extra_http_headers({"X-Forwarded-For": f"203.0.113.{list(HEADINGS).index(lang) + 1}"})
    page.goto(f"{served.base}/booking/help?lang={lang}")
    page.get_by_role("link", name=link).click()
    expect_heading(page, form_heading)
    accessible_and_narrow(page)

    page.fill("#contact", f"ask-{lang}@example.org")
    page.fill("#body", "<b>bold</b>")
    page.locator("#send-question").click()
    expect_heading(page, form_heading)
    assert page.locator("#contact").input_value() == f"ask-{lang}@example.org"
    assert page.locator("#body").get_attribute("aria-invalid") == "true"
    accessible_and_narrow(page)

    page.fill("#body", "Can I bring my daughter?")
    page.locator("#send-question").click()
    expect_heading(page, thread_heading)
    assert "Can I bring my daughter?" in page.locator(".thread").inner_text()
    accessible_and_narrow(page)
    screenshot(page, f"ask-us-{lang}")
    assert page.console_problems == []
