"""The organization's header (name and logo) and contact block in real Chromium: the logo loads
under the pages' CSP, the phone is a tel: link, and axe-core finds nothing, in en/fr/es/ar."""

from __future__ import annotations

import io
import uuid

import pytest
from browser_checks import CONSENT_FORM, PHONE, check_accessibility, narrow_enough, screenshot
from PIL import Image, ImageDraw

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def logo(served):
    """A real PNG logo uploaded through the API (the demo loader gave the profile)."""
    image = Image.new("RGB", (240, 80), (255, 255, 255))
    ImageDraw.Draw(image).ellipse((10, 10, 70, 70), fill=(180, 30, 30))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    with served.api() as api:
        answer = api.put(
            "/booking/api/v1/organization/logo",
            content=buffer.getvalue(),
            headers={"Content-Type": "image/png"},
        )
        assert answer.status_code == 200, answer.text
        return answer.json()


def _signing_url(served, locale: str) -> str:
    with served.api() as api:
        form = api.post(
            "/consent/api/v1/templates",
            json={**CONSENT_FORM, "name": f"Recording {uuid.uuid4().hex[:8]}"},
        )
        assert form.status_code == 201, form.text
        response = api.post(
            "/consent/api/v1/requests",
            json={
                "template_id": form.json()["id"],
                "client_name": "Ana López",
                "client_email": f"ana-{uuid.uuid4().hex[:8]}@example.org",
                "locale": locale,
                "timezone": "America/Toronto",
                "send": False,
            },
        )
    assert response.status_code == 201, response.text
    return response.json()["signing_url"]


@pytest.mark.parametrize("lang", ["en", "fr", "es", "ar"])
def test_header_and_contacts_on_booking_and_consent_pages(served, browser, logo, lang):
    # The name as saved now (the console story renames the demo organization).
    assert logo["name"] and logo["phone"]
    context = browser.new_context(viewport=PHONE, locale=lang)
    try:
        page = context.new_page()
        for name, url in (
            (f"org-booking-{lang}", f"{served.base}/booking/?lang={lang}"),
            (f"org-consent-{lang}", _signing_url(served, lang)),
        ):
            page.goto(url)
            page.wait_for_load_state("load")
            header = page.locator("header.site-header .org")
            assert logo["name"] in header.inner_text()
            tel = page.locator("footer .contacts a[href^='tel:']")
            assert tel.get_attribute("href") == f"tel:{logo['phone']}"
            assert tel.is_visible()
            if name.startswith("org-booking"):  # consent may show the profile a minute late
                loaded = page.evaluate("document.querySelector('header .logo').naturalWidth")
                assert loaded == 240, "the logo did not load under the page's CSP"
            narrow_enough(page)
            screenshot(page, name)
            assert check_accessibility(page) == [], name
    finally:
        context.close()
