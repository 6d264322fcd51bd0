"""The help center in real Chromium at 390 px: the demo's FAQ searched from the keyboard with
JavaScript's help or without it, and axe-core (WCAG 2.2 AA) on the page and its results in
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

SEARCHES = {
    "en": ("Help", "passport", "What should I bring to my settlement intake?"),
    "fr": ("Aide", "annuler", "Comment annuler ou déplacer mon rendez-vous ?"),
    "es": ("Ayuda", "cancelar", "¿Cómo cancelo o cambio mi cita?"),
    "ar": ("المساعدة", "جواز", "ماذا أحضر معي إلى موعد الاستقبال؟"),
}


@pytest.mark.parametrize("lang", list(SEARCHES))
def test_help_center_is_searched_from_the_keyboard_in_each_language(served, phone, lang):
    heading, word, answer = SEARCHES[lang]
    page = phone
    page.goto(f"{served.base}/booking/help?lang={lang}")
    expect_heading(page, heading)
    assert page.evaluate("document.documentElement.dir") == ("rtl" if lang == "ar" else "ltr")
    assert check_accessibility(page, WCAG_22_AA) == []
    narrow_enough(page)
    for _ in range(20):  # to the search box with Tab alone
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "q":
            break
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type(word)
    page.keyboard.press("Enter")
    page.wait_for_url("**q=*")
    results = page.locator("details.faq-entry")
    assert results.first.locator("summary").inner_text().strip() == answer
    assert page.locator("#q").input_value() == word  # the query stays in the box
    assert check_accessibility(page, WCAG_22_AA) == []
    narrow_enough(page)
    screenshot(page, f"help-center-{lang}")
    assert page.console_problems == []


def test_every_public_page_links_to_the_help_center(served, phone):
    phone.goto(f"{served.base}/booking/?lang=en")
    phone.locator("footer a", has_text="Help: questions and answers").click()
    expect_heading(phone, "Help")
