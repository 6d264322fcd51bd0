"""The phone-only SMS transcript as a picture: a client books by phone only in Chromium (French,
then Arabic), the suite's workers send the SMS (to files: FRONTDESK_SMS_URL=file://), and the
texts they sent are shown as a phone's thread of bubbles (set_content, nothing fetched), checked
with axe-core at 390 px and saved as var/screenshots/sms-transcript-<lang>.png."""

from __future__ import annotations

import html
import itertools
import json
import time

import pytest
import sqlalchemy as sa
from browser_checks import (
    PHONE,
    SCREENSHOTS,
    WCAG_22_AA,
    check_accessibility,
    narrow_enough,
)

from services.notify import channels
from services.notify.models import Message
from shared.db import Database
from shared.languages import text_direction
from shared.timestamps import utc_iso

pytestmark = pytest.mark.browser
# Numbers no other browser test books with (the daily cap counts a number's bookings).
PHONE_NUMBERS = itertools.count(950)
# Documentation addresses (RFC 5737) of their own: each booking gets its own rate limit.
CLIENT_NUMBERS = itertools.count(200)
LABELS = {
    "fr": {"title": "SMS reçus", "to": "À", "segments": "segments"},
    "ar": {"title": "الرسائل النصية المستلمة", "to": "إلى", "segments": "أجزاء"},
}


def _book_by_phone(browser, served, clinic: str, lang: str, number: str) -> None:
    """Book the clinic's first phone slot with a phone number only, as a client does."""
    context = browser.new_context(
        viewport=PHONE,
        locale=lang,
        timezone_id="America/Toronto",
        extra_http_headers={"X-Forwarded-For": f"192.0.2.{next(CLIENT_NUMBERS)}"},
    )
    try:
        page = context.new_page()
        page.goto(f"{served.base}/booking/{clinic}?lang={lang}")
        page.locator("#mode-phone").check()
        page.locator("#show-times").click()
        page.locator("#slot-list input[type=radio]").first.check()
        page.locator("#slot-continue").click()
        page.locator("#name").fill("Amal Haddad")
        page.locator("#phone").fill(number)
        page.locator("#notify_by-sms").check()
        page.locator("#book").click()
        page.locator("#booked").wait_for()
    finally:
        context.close()


def _sent_sms(served, number: str, at_least: int) -> list[dict]:
    """The SMS notify sent to `number` (its rows for time and segments, the provider's files
    for the text), once at least `at_least` have gone."""
    database = Database(f"sqlite:///{served.instance / 'notify.db'}")
    try:
        deadline = time.monotonic() + 60
        while True:
            with database.transaction() as session:
                rows = session.execute(
                    sa.select(
                        Message.message_id, Message.recipient, Message.sent_at, Message.segments
                    )
                    .where(
                        Message.channel == "sms",
                        Message.recipient == number,
                        Message.status == "sent",
                    )
                    .order_by(Message.sent_at, Message.id)
                ).all()
            if len(rows) >= at_least or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        database.engine.dispose()
    assert len(rows) >= at_least, f"{len(rows)} SMS sent to the client in 60 s"
    sent = []
    for message_id, to, sent_at, segments in rows:
        name = "".join(c for c in message_id if c.isalnum() or c in "._-")
        record = json.loads((served.instance / "sms" / f"{name}.sms.json").read_text())
        assert record["to"] == to
        sent.append({"to": to, "at": sent_at, "segments": segments, "body": record["body"]})
    return sent


def _thread_html(lang: str, sent: list[dict]) -> str:
    """A phone's message thread: one bubble per SMS with its time and segments."""
    labels = LABELS[lang]
    bubbles = "\n".join(
        f"""<li><p class="bubble">{html.escape(sms["body"])}</p>
<p class="meta"><time datetime="{utc_iso(sms["at"])}">{sms["at"]:%Y-%m-%d %H:%M} UTC</time>
· {sms["segments"]} {labels["segments"]}</p></li>"""
        for sms in sent
    )
    return f"""<!doctype html>
<html lang="{lang}" dir="{text_direction(lang)}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{labels["title"]}</title>
<style>
body {{ margin: 0; font: 16px/1.45 system-ui, sans-serif; background: #f2f2f7; color: #111; }}
header {{ background: #fff; padding: 12px 16px; border-bottom: 1px solid #c7c7cc; }}
h1 {{ font-size: 1.1rem; margin: 0; }}
header p {{ margin: 4px 0 0; color: #3a3a3c; }}
ol {{ list-style: none; margin: 0; padding: 12px; }}
li {{ margin: 0 0 14px; max-width: 85%; }}
.bubble {{ background: #fff; border-radius: 18px; padding: 10px 14px; margin: 0;
  overflow-wrap: anywhere; box-shadow: 0 1px 1px rgba(0,0,0,.15); }}
.meta {{ font-size: .8rem; color: #3a3a3c; margin: 4px 8px 0; }}
</style></head>
<body><header><h1>{labels["title"]}</h1>
<p>{labels["to"]} <span dir="ltr">{html.escape(sent[0]["to"])}</span></p></header>
<main><ol>
{bubbles}
</ol></main></body></html>"""


@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_phone_only_sms_transcript_is_pictured_as_a_phone_thread(
    served, browser, clinic, phone, lang
):
    number = f"+1416555{next(PHONE_NUMBERS):04d}"
    _book_by_phone(browser, served, clinic, lang, number)
    sent = _sent_sms(served, number, at_least=2)  # the confirmation and the signing link
    assert any("/booking/m/" in sms["body"] for sms in sent)
    assert any("/consent/sign/fdc_" in sms["body"] for sms in sent)
    if lang == "ar":
        assert all(any("\u0600" <= c <= "\u06ff" for c in sms["body"]) for sms in sent)
    for sms in sent:
        size = channels.sms_size(sms["body"])
        assert sms["segments"] == size.segments, sms
    phone.set_content(_thread_html(lang, sent))
    assert phone.locator(".bubble").count() == len(sent)
    narrow_enough(phone)
    assert check_accessibility(phone, WCAG_22_AA) == []
    path = SCREENSHOTS / f"sms-transcript-{lang}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    assert phone.console_problems == []
