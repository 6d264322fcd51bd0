"""The API docs pages in real Chromium, under the CSP the app sends with them and with no
internet: Swagger UI (/docs) and ReDoc (/redoc) of every service load their scripts from the
app itself and list the service's operations."""

from __future__ import annotations

import pytest
from browser_checks import WCAG_22_AA, check_accessibility, screenshot, watch_console

pytestmark = pytest.mark.browser

# One operation of each service, by its summary (the resource method's docstring).
OPERATIONS = {
    "booking": "Book an appointment",
    "consent": "Ask a client for consent",
    "notify": "Queue a message",
}
# Where each viewer shows an operation's summary.
SUMMARY = {"docs": ".opblock-summary-description", "redoc": "h2"}
# ReDoc's footer shows Redocly's logo from their CDN: the page's CSP refuses it (no outside
# request from a self-hosted suite) and ReDoc leaves the logo out.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.mark.parametrize("viewer", ["docs", "redoc"])
@pytest.mark.parametrize("service", ["booking", "consent", "notify"])
def test_api_docs_page_lists_the_operations_under_its_own_csp(served, browser, service, viewer):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        problems = watch_console(page)
        failed: list[str] = []
        page.on("response", lambda answer: answer.status >= 400 and failed.append(answer.url))
        page.on("requestfailed", lambda request: failed.append(request.url))
        answer = page.goto(f"{served.base}/{service}/{viewer}")
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "unsafe-eval" not in csp
        operation = page.locator(SUMMARY[viewer], has_text=OPERATIONS[service]).first
        operation.wait_for(timeout=30_000)
        assert page.locator(SUMMARY[viewer]).count() >= 3  # the whole list, not just one
        screenshot(page, f"api-{viewer}-{service}")
    finally:
        context.close()
    assert [problem for problem in problems if REDOC_LOGO not in problem] == []
    assert [url for url in failed if url != REDOC_LOGO] == []


@pytest.mark.parametrize("viewer", ["docs", "redoc"])
def test_api_docs_pages_meet_wcag_22_aa_with_the_main_operation_open(served, browser, viewer):
    """axe-core finds nothing on either viewer: the viewers' own colours, unnamed selects,
    scrollable samples and small targets are mended by api-docs.css and api-docs.js."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    found = {}
    try:
        page = context.new_page()
        for service, summary in OPERATIONS.items():
            page.goto(f"{served.base}/{service}/{viewer}")
            operation = page.locator(SUMMARY[viewer], has_text=summary).first
            operation.wait_for(timeout=30_000)
            if viewer == "docs":  # opened: its parameters, body and answer samples
                operation.click()
                page.locator(".opblock-body").first.wait_for()
            found[service] = check_accessibility(page, WCAG_22_AA)
            screenshot(page, f"docs/{viewer}-{service}")
    finally:
        context.close()
    assert found == {service: [] for service in OPERATIONS}
