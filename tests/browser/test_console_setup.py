"""Console setup in Chromium: an admin makes and revokes an API token; an admin invites a
staff member, who signs in from the emailed invitation; every setup page passes axe-core
(WCAG 2.2 AA) in en/fr/es/ar at 390 px."""

from __future__ import annotations

import email
import re
import time
import uuid
from email import policy
from urllib.parse import urlsplit

import httpx
import pytest
from browser_checks import PHONE, WCAG_22_AA, check_accessibility, narrow_enough, screenshot

pytestmark = pytest.mark.browser

SERVICES = ("booking", "consent", "notify")
LANGS = ("en", "fr", "es", "ar")


@pytest.fixture
def mailbox(served, tmp_path_factory):
    """read_link(address) -> the console link in the newest email to that address (waits)."""
    folders = list(tmp_path_factory.getbasetemp().glob("browser-suite*/mail"))

    def read_link(address: str, timeout: float = 45) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for path in sorted(
                (p for folder in folders for p in folder.glob("*.eml")),
                key=lambda p: p.stat().st_mtime,
                reverse=True,
            ):
                message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
                if address in str(message["To"]):
                    text = message.get_body(preferencelist=("plain",)).get_content()
                    return re.search(r"https?://\S+/console/sign-in/\S+", text).group(0)
            time.sleep(0.5)
            folders[:] = folders or list(tmp_path_factory.getbasetemp().glob("browser-suite*/mail"))
        raise AssertionError(f"no console email to {address}")

    return read_link


def _context(browser):
    """A 390 px phone with its own client address (the sign-in form is rate-limited per one)."""
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    return browser.new_context(
        viewport=PHONE, has_touch=True, extra_http_headers={"X-Forwarded-For": address}
    )


def _follow(page, served, link: str) -> None:
    """Open an emailed sign-in link (made for the served host) and press Sign in."""
    page.goto(served.base + urlsplit(link).path)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def _sign_in(page, served, mailbox, address: str) -> None:
    page.goto(f"{served.base}/console/sign-in?lang=en")
    page.get_by_label("Email address").fill(address)
    page.get_by_role("button", name="Email me a sign-in link").click()
    _follow(page, served, mailbox(address))


@pytest.fixture
def admin_page(browser, served, mailbox):
    """A signed-in admin in a fresh 390 px browser."""
    address = f"admin-{uuid.uuid4().hex[:8]}@maple.example"
    with served.api() as api:
        made = api.post(
            "/booking/api/v1/staff",
            json={
                "name": "Setup Admin",
                "email": address,
                "time_zone": "America/Toronto",
                "role": "admin",
            },
        )
        assert made.status_code == 201, made.text
    context = _context(browser)
    try:
        page = context.new_page()
        _sign_in(page, served, mailbox, address)
        yield page
    finally:
        context.close()


def _whoami(served, token: str) -> list[int]:
    headers = {"Authorization": f"Bearer {token}"}
    return [
        httpx.get(f"{served.base}/{s}/api/v1/whoami", headers=headers, timeout=10).status_code
        for s in SERVICES
    ]


def test_an_admin_makes_a_token_and_revokes_it(served, admin_page):
    page = admin_page
    page.goto(f"{served.base}/console/setup/tokens?lang=en")
    page.get_by_label("Name").fill("billing export")
    page.get_by_label("Role").select_option("admin")
    page.get_by_role("button", name="Make the token").click()
    token = page.locator("#new-token").inner_text().strip()
    assert _whoami(served, token) == [200, 200, 200]
    screenshot(page, "console/setup-token-made")
    page.goto(f"{served.base}/console/setup/tokens?lang=en")
    assert token not in page.content()
    row = page.locator("li", has_text="billing export").first
    row.get_by_role("button", name=re.compile("Revoke")).click()
    page.get_by_text("The token is revoked on every service.").wait_for()
    assert _whoami(served, token) == [401, 401, 401]


def test_an_invited_staff_member_signs_in_from_the_email(browser, served, admin_page, mailbox):
    page = admin_page
    address = f"noor-{uuid.uuid4().hex[:8]}@maple.example"
    page.goto(f"{served.base}/console/setup/staff/invite?lang=en")
    page.get_by_label("Name").fill("Noor Rahimi")
    page.get_by_label("Email address").fill(address)
    page.get_by_role("button", name="Invite").click()
    page.get_by_text("Noor Rahimi is invited").wait_for()
    link = mailbox(address)
    context = _context(browser)
    try:
        noor = context.new_page()
        _follow(noor, served, link)
        noor.get_by_text("Signed in as Noor Rahimi").wait_for()
        assert noor.url.rstrip("/").endswith("/console")
        assert noor.goto(f"{served.base}/console/setup/tokens").status == 403
    finally:
        context.close()


SETUP_PAGES = (
    "organization",
    "staff",
    "staff/invite",
    "services",
    "services/new",
    "consent-forms",
    "consent-forms/new",
    "messages",
    "tokens",
)


def test_every_setup_page_passes_axe_wcag22_aa_in_every_language(served, admin_page):
    page = admin_page
    page.goto(f"{served.base}/console/setup/staff?lang=en")
    first = page.locator(".setup-list h2 a").first.get_attribute("href")
    page.goto(f"{served.base}/console/setup/services?lang=en")
    services = page.locator(".setup-list h2 a")
    paths = [*SETUP_PAGES, first.split("/setup/", 1)[1]]
    if services.count():
        paths.append(services.first.get_attribute("href").split("/setup/", 1)[1])
    found = {}
    for lang in LANGS:
        for path in paths:
            page.goto(f"{served.base}/console/setup/{path}?lang={lang}")
            assert page.evaluate("document.documentElement.lang") == lang
            narrow_enough(page)
            if violations := check_accessibility(page, WCAG_22_AA):
                found[f"{lang} {path}"] = violations
        screenshot(page, f"console/setup-{lang}")
    # The consent editor's preview (a posted page) in Arabic, right to left.
    page.goto(f"{served.base}/console/setup/consent-forms/new?lang=ar")
    page.locator("#name").fill("Preview")
    page.locator("#title-en").fill("Consent")
    page.locator("#body-en").fill("Text")
    page.locator("#title-ar").fill("موافقة")
    page.locator("#body-ar").fill("نص")
    page.locator("button[value=preview]").click()
    page.locator("#preview-heading").wait_for()
    if violations := check_accessibility(page, WCAG_22_AA):
        found["ar consent preview"] = violations
    assert found == {}
