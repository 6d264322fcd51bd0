"""The console's Questions pages in real Chromium at 390 px: the list and a thread pass axe-core
(WCAG 2.2 AA) in en and ar, a staff member answers with the keyboard alone, then closes another
thread; the client's page of the closed thread takes no more replies."""

from __future__ import annotations

import re
import uuid

import pytest
from browser_checks import PHONE, WCAG_22_AA, check_accessibility, narrow_enough, screenshot
from browser_checks import watch_console as watched
from test_console_appointments import _instance, _sign_in

pytestmark = pytest.mark.browser


def _ask(browser, served, body: str, contact: str, address: str) -> str:
    """Ask on the help center's form, as a client; the thread's URL."""
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.set_extra_http_headers({"X-Forwarded-For": address})
        page.goto(f"{served.base}/booking/help/ask?lang=en")
        page.fill("#name", "Li Wei")
        page.fill("#contact", contact)
        page.fill("#body", body)
        page.locator("#send-question").click()
        page.wait_for_url(re.compile(r"/questions/fdq_"))
        return page.url.split("?")[0]
    finally:
        context.close()


@pytest.fixture(scope="module")
def setup(served, browser):
    suffix = uuid.uuid4().hex[:8]
    with served.api() as api:
        staff = api.post(
            "/booking/api/v1/staff",
            json={
                "name": "Amira Haddad",
                "email": f"amira-q-{suffix}@maple.example",
                "time_zone": "America/Toronto",
                "languages": ["en", "ar"],
            },
        )
        assert staff.status_code == 201, staff.text
    parking = f"Is there parking near you? ({suffix})"
    spam = f"Cheap watches here ({suffix})"
    threads = {
        "parking": _ask(browser, served, parking, f"li-{suffix}@example.org", "198.51.100.41"),
        "spam": _ask(browser, served, spam, "+14165550142", "198.51.100.42"),
    }
    return {"staff": staff.json(), "parking": parking, "spam": spam, "threads": threads}


@pytest.fixture
def page(served, browser, setup, tmp_path_factory):
    context = browser.new_context(viewport=PHONE, has_touch=True, device_scale_factor=2)
    try:
        tab = context.new_page()
        tab.console_problems = watched(tab)
        _sign_in(served, tab, setup["staff"]["email"], _instance(tmp_path_factory) / "mail")
        yield tab
    finally:
        context.close()


def _accessible_in_en_and_ar(page, name: str) -> None:
    url = page.url.split("?")[0]
    for lang in ("en", "ar"):
        page.goto(f"{url}?lang={lang}")
        assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
        assert check_accessibility(page, WCAG_22_AA) == [], (name, lang)
        narrow_enough(page)
        screenshot(page, f"console/{name}-{lang}")
    page.goto(f"{url}?lang=en")


def test_a_question_is_answered_with_the_keyboard_alone(served, page, setup):
    page.goto(f"{served.base}/console/questions?lang=en")
    badge = page.locator(".console-nav .badge")
    assert int(badge.inner_text()) >= 2
    nav_link = page.get_by_role("link", name=re.compile(r"^Questions \d+ waiting for an answer$"))
    assert nav_link.count() == 1
    _accessible_in_en_and_ar(page, "questions")
    assert "li-" not in page.content()  # no address in the list

    page.get_by_role("link", name=re.compile(re.escape(setup["parking"]))).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Question from Li"
    _accessible_in_en_and_ar(page, "question")

    # Tab from the top of the page to the answer box, type, Tab to its button, press Enter.
    page.locator("body").focus()
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "answer-body":
            break
    assert page.evaluate("document.activeElement.id") == "answer-body"
    page.keyboard.type("Yes: the lot behind the building is free.")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "send-answer"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"done=answered"))
    assert page.get_by_role("status").inner_text().startswith("Answered.")
    assert page.locator("#question-status").inner_text() == "Answered"
    assert "the lot behind the building is free" in page.locator(".thread").inner_text()
    _accessible_in_en_and_ar(page, "question-answered")
    assert page.console_problems == []


def test_a_closed_thread_refuses_the_clients_reply(served, page, browser, setup):
    page.goto(f"{served.base}/console/questions?lang=en")
    page.get_by_role("link", name=re.compile(re.escape(setup["spam"]))).click()
    page.get_by_role("button", name="Close the question").click()
    page.wait_for_url(re.compile(r"done=closed"))
    assert page.locator("#question-status").inner_text() == "Closed"
    assert page.locator("#answer").count() == 0

    client = browser.new_context(viewport=PHONE).new_page()
    client.goto(f"{setup['threads']['spam']}?lang=ar")
    assert client.locator("#closed-notice").is_visible()
    assert client.locator("#reply-form").count() == 0
    assert check_accessibility(client, WCAG_22_AA) == []
    narrow_enough(client)
    client.context.close()
    assert page.console_problems == []


def _stored_questions(served, count: int, suffix: str) -> None:
    """`count` more open questions, straight into booking's database (the help center's form
    is rate-limited per address)."""
    from services.booking.operations import questions
    from shared.db import Database

    database = Database(f"sqlite:///{served.instance / 'booking.db'}")
    try:
        with database.transaction() as session:
            for n in range(count):
                questions.ask(
                    session=session,
                    body=f"Question {n} ({suffix})",
                    secret="paging-test",
                    language="en",
                    name="Li Wei",
                    email=f"li-{suffix}@example.org",
                )
    finally:
        database.engine.dispose()


def test_the_next_page_of_questions_is_reached_with_the_keyboard(served, page, setup):
    suffix = uuid.uuid4().hex[:8]
    _stored_questions(served, 55, suffix)
    page.goto(f"{served.base}/console/questions?lang=en")
    assert page.locator("#questions > li").count() == 50
    page.locator("body").focus()
    for _ in range(120):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "next-page":
            break
    assert page.evaluate("document.activeElement.id") == "next-page"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"cursor="))
    assert 1 <= page.locator("#questions > li").count() <= 50
    assert f"Question 54 ({suffix})" in page.locator("#questions").inner_text()
    assert page.get_by_role("link", name="First page").count() == 1
    later = page.url
    for lang in ("en", "ar"):
        page.goto(f"{later}&lang={lang}")
        assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
        assert page.locator("#first-page").is_visible()
        assert check_accessibility(page, WCAG_22_AA) == [], lang
        narrow_enough(page)
        screenshot(page, f"console/questions-page-2-{lang}")
    assert page.console_problems == []
