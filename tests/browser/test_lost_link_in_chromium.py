"""'Lost my link?' in real Chromium at 390 px: reached from the help center, refused with the
input kept, answered; axe-core (WCAG 2.2 AA) on the form, its error and the answer in
en/fr/es/ar (Arabic right-to-left)."""

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
    "en": ("Get my links", "Lost your link?", "Check your messages"),
    "fr": ("Recevoir mes liens", "Vous avez perdu votre lien ?", "Consultez vos messages"),
    "es": ("Recibir mis enlaces", "¿Perdió su enlace?", "Revise sus mensajes"),
    "ar": ("احصل على روابطي", "هل فقدت الرابط؟", "تحقق من رسائلك"),
}


def accessible_and_narrow(page) -> None:
    assert check_accessibility(page, WCAG_22_AA) == []
    narrow_enough(page)


@pytest.mark.parametrize("lang", list(HEADINGS))
def test_lost_link_form_and_answer_are_accessible_in_each_language(served, phone, lang):
    link, form_heading, answer_heading = HEADINGS[lang]
    page = phone
    # Its own client address: the form allows 5 posts a minute per address.
    page.set_extra_http_headers({"X-Forwarded-For": f"198.51.100.{list(HEADINGS).index(lang) + 1}"})
    page.goto(f"{served.base}/booking/help?lang={lang}")
    page.get_by_role("link", name=link).click()
    expect_heading(page, form_heading)
    assert page.evaluate("document.documentElement.dir") == ("rtl" if lang == "ar" else "ltr")
    accessible_and_narrow(page)

    page.fill("#contact", f"{lang} at example")
    page.locator("#send-links").click()
    expect_heading(page, form_heading)
    assert page.locator("#contact").input_value() == f"{lang} at example"  # the input is kept
    assert page.locator("#contact").get_attribute("aria-invalid") == "true"
    accessible_and_narrow(page)

    page.fill("#contact", f"lost-{lang}@example.org")
    page.locator("#contact").press("Enter")
    expect_heading(page, answer_heading)
    accessible_and_narrow(page)
    screenshot(page, f"lost-link-{lang}")
    assert page.console_problems == []
