"""The consent signing pages in real Chromium on a phone-sized screen: signing with a drawn
signature (pointer events), the language switcher, and axe-core on every page in en/fr/es/ar."""

from __future__ import annotations

import re
import uuid

import pytest
from browser_checks import (
    CONSENT_FORM,
    check_accessibility,
    expect_heading,
    narrow_enough,
    screenshot,
    watch_console,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def template_id(served):
    with served.api() as api:
        response = api.post("/consent/api/v1/templates", json=CONSENT_FORM)
        assert response.status_code == 201, response.text
        return response.json()["id"]


@pytest.fixture
def new_link(served, template_id):
    """new_link(locale) -> (request id, the client's signing URL)."""

    def make(locale: str = "en") -> tuple[int, str]:
        with served.api() as api:
            response = api.post(
                "/consent/api/v1/requests",
                json={
                    "template_id": template_id,
                    "client_name": "Ana López",
                    "client_email": f"ana-{uuid.uuid4().hex[:8]}@example.org",
                    "locale": locale,
                    "timezone": "America/Toronto",
                    "send": False,
                },
            )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["signing_url"].startswith(served.base)
        return body["id"], body["signing_url"]

    return make


def draw_signature(page) -> None:
    """Draw a zigzag on the signature pad with real pointer events (mouse-type pointers)."""
    pad = page.locator("canvas.signature")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box and box["width"] > 300, box
    x, y = box["x"] + 30, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(x + step * 20, y + (20 if step % 2 else -20), steps=3)
    page.mouse.up()


def test_client_signs_on_a_phone_with_a_drawn_signature(served, phone, new_link):
    request_id, url = new_link("en")
    phone.goto(url)
    assert phone.locator("html").get_attribute("lang") == "en"
    assert phone.locator("canvas.signature").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.get_by_label("I agree that this session may be recorded.").check()
    phone.get_by_label("I agree that my information may be shared with partner agencies.").check()
    phone.get_by_label("I have read this and I agree to sign online.").check()
    phone.get_by_label("Your full name").fill("Ana López")
    draw_signature(phone)
    drawn = phone.locator("#signature_data").input_value()
    assert drawn.startswith("data:image/png;base64,")
    assert phone.locator("input[name=timezone]").input_value()
    screenshot(phone, "consent-signing-drawn-en")
    phone.get_by_role("button", name="Sign the form").click()
    expect_heading(phone, "Thank you, the form is signed")
    screenshot(phone, "consent-thank-you-en")
    copy = phone.get_by_role("link", name="Download your signed copy (PDF)")
    assert re.match(rf"{served.base}/consent/records/fdr_[\w-]+\.pdf$", copy.get_attribute("href"))
    with served.api() as api:
        events = api.get(f"/consent/api/v1/requests/{request_id}/events").json()
    signed = next(event for event in events["events"] if event["kind"] == "signed")
    assert signed["details"]["signature_image_sha256"]
    assert signed["timezone"]
    assert events["chain_intact"]
    assert phone.console_problems == []


def test_kept_drawing_is_shown_again_after_an_error(served, phone, new_link):
    _, url = new_link("en")
    phone.goto(url)
    draw_signature(phone)
    phone.get_by_role("button", name="Sign the form").click()
    assert phone.locator("#error-summary").is_visible()
    assert phone.evaluate("document.activeElement.id") == "error-summary"
    assert phone.locator("#signature_data").input_value().startswith("data:image/png")
    ink = phone.evaluate(
        """() => { const c = document.querySelector('canvas.signature');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""
    )
    assert ink > 50


def test_language_switcher_changes_the_page_and_is_remembered(served, phone, new_link):
    _, url = new_link("en")
    phone.goto(url)
    phone.get_by_role("navigation").get_by_role("link", name="Français").click()
    assert phone.locator("html").get_attribute("lang") == "fr"
    expect_heading(phone, "Enregistrement de la séance et partage d'informations")
    assert phone.get_by_role("button", name="Signer le formulaire").is_visible()
    phone.get_by_role("link", name="Español").click()
    assert phone.locator("html").get_attribute("lang") == "es"
    assert phone.get_by_role("button", name="Firmar el formulario").is_visible()
    # Signing after switching keeps the chosen language on the next page.
    phone.get_by_label("Acepto que esta sesión sea grabada.").check()
    phone.get_by_label("Acepto que mi información se comparta.").check()
    phone.get_by_label("He leído esto y acepto firmar en línea.").check()
    phone.get_by_label("Su nombre completo").fill("Ana López")
    phone.get_by_role("button", name="Firmar el formulario").click()
    expect_heading(phone, "Gracias, el formulario está firmado")
    assert phone.locator("html").get_attribute("lang") == "es"


def ink_in(page, left: float, right: float) -> int:
    """Inked pixels of the signature pad between these fractions of its width."""
    return page.evaluate(
        """([left, right]) => { const c = document.querySelector('canvas.signature');
        const x = Math.floor(c.width * left), w = Math.floor(c.width * (right - left));
        const d = c.getContext('2d').getImageData(x, 0, w, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }""",
        [left, right],
    )


def test_client_signs_a_right_to_left_page_in_arabic_with_a_drawn_signature(
    served, phone, new_link
):
    _, url = new_link("ar")
    phone.goto(url)
    assert phone.locator("html").get_attribute("dir") == "rtl"
    expect_heading(phone, "تسجيل الجلسة ومشاركة المعلومات")
    # The layout is mirrored: the form's labels start at the right edge.
    label = phone.get_by_text("اسمك الكامل", exact=True).bounding_box()
    assert label["x"] + label["width"] > 390 - 40, label
    phone.get_by_label("أوافق على تسجيل هذه الجلسة.").check()
    phone.get_by_label("أوافق على مشاركة معلوماتي مع الجهات الشريكة.").check()
    phone.get_by_label("قرأت هذا وأوافق على التوقيع عبر الإنترنت.").check()
    phone.get_by_label("اسمك الكامل").fill("آنا لوبيز")
    # The ink lands under the pointer (drawn from 30 px to 250 px on a ~350 px pad), not mirrored.
    draw_signature(phone)
    assert ink_in(phone, 0.0, 0.7) > 50 and ink_in(phone, 0.8, 1.0) == 0
    assert phone.locator("#signature_data").input_value().startswith("data:image/png;base64,")
    screenshot(phone, "consent-signing-drawn-ar")
    phone.get_by_role("button", name="وقّع النموذج").click()
    expect_heading(phone, "شكرًا لك، تم توقيع النموذج")
    screenshot(phone, "consent-thank-you-ar")
    assert phone.console_problems == []


def visit(page, url: str, name: str, found: dict) -> None:
    page.goto(url)
    check(page, name, found)


def check(page, name: str, found: dict) -> None:
    page.wait_for_load_state("load")
    screenshot(page, name)
    narrow_enough(page)
    violations = check_accessibility(page)
    if violations:
        found[name] = violations


@pytest.mark.parametrize(
    ("lang", "scheme"),
    [("en", "light"), ("fr", "light"), ("es", "light"), ("ar", "light"), ("en", "dark")],
)
def test_every_consent_page_passes_axe_wcag21_aa(served, browser, new_link, lang, scheme):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, color_scheme=scheme, locale=lang
    )
    found: dict = {}
    try:
        page = context.new_page()
        problems = watch_console(page)
        suffix = f"{lang}-{scheme}"
        _, signing = new_link(lang)
        visit(page, signing, f"consent-form-{suffix}", found)
        page.get_by_role("button").last.click()
        check(page, f"consent-form-errors-{suffix}", found)
        visit(page, f"{signing}/decline", f"consent-decline-{suffix}", found)
        page.locator("form button[type=submit]").click()
        check(page, f"consent-declined-{suffix}", found)
        visit(page, signing, f"consent-link-used-{suffix}", found)

        _, second = new_link(lang)
        page.goto(second)
        for box in page.locator("input[type=checkbox]").all():
            box.check()
        page.locator("#typed_name").fill("Ana López")
        page.locator("form button[type=submit]").click()
        check(page, f"consent-thank-you-{suffix}", found)
        visit(page, second, f"consent-already-signed-{suffix}", found)
        visit(page, f"{second}/withdraw", f"consent-withdraw-{suffix}", found)
        page.locator("form button[type=submit]").click()
        check(page, f"consent-withdrawn-{suffix}", found)
        visit(
            page, f"{served.base}/consent/sign/fdc_{'x' * 43}", f"consent-unknown-{suffix}", found
        )
        assert page.locator("html").get_attribute("lang") == lang
    finally:
        context.close()
    assert found == {}, found
    assert problems == [], problems


@pytest.mark.parametrize(("width", "zoom"), [(320, 1), (640, 2)])
def test_signing_page_fits_320_px_and_200_percent_zoom(served, browser, new_link, width, zoom):
    """320 CSS px is a small phone; a 1280 px window zoomed to 200% lays out 640 CSS px at a
    device pixel ratio of 2 (which is what browser zoom is)."""
    context = browser.new_context(
        viewport={"width": width, "height": 800}, device_scale_factor=zoom
    )
    try:
        page = context.new_page()
        _, url = new_link("fr")
        page.goto(url)
        screenshot(page, f"consent-form-{width}px-zoom{zoom}")
        narrow_enough(page, width)
        assert page.locator("canvas.signature").bounding_box()["width"] <= width
    finally:
        context.close()
