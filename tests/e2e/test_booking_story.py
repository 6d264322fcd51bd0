"""The booking story through nginx only: an admin sets up staff and a service, clients book,
the invite arrives by email through booking -> notify -> the workers -> SMTP, the client
reschedules by their manage link, staff complete the session and billing gets a signed webhook.
Also: 50 concurrent bookings of one slot across both booking instances -> exactly one wins."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import subprocess
import threading
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import icalendar
import pytest
import sqlalchemy as sa
from e2e_harness import BIN, post_forms, wait_until

pytestmark = pytest.mark.e2e

CALLBACK = "+14165550123"


@pytest.fixture(scope="module")
def admin(stack):
    with stack.public(headers={"Authorization": f"Bearer {stack.admin_token}"}) as client:
        yield client


@pytest.fixture(scope="module")
def clinic(admin):
    """A staff member available every day 00:00-23:45 (Toronto) and a 30-minute phone service."""
    suffix = uuid.uuid4().hex[:8]
    staff = admin.post(
        "/booking/api/v1/staff",
        json={
            "name": "Amira Haddad",
            "email": f"amira-{suffix}@maple.example",
            "time_zone": "America/Toronto",
            "languages": ["en", "ar", "fr"],
        },
    )
    assert staff.status_code == 201, staff.text
    staff_id = staff.json()["id"]
    rules = admin.put(
        f"/booking/api/v1/staff/{staff_id}/availability/rules",
        json={
            "rules": [
                {"weekday": day, "start_time": "00:00", "end_time": "23:45"} for day in range(7)
            ]
        },
    )
    assert rules.status_code == 200, rules.text
    service = admin.post(
        "/booking/api/v1/services",
        json={
            "name": "Settlement intake",
            "slug": f"intake-{suffix}",
            "duration_minutes": 30,
            "modes": ["phone"],
            "min_notice_minutes": 0,
            "horizon_days": 30,
            "slot_step_minutes": 30,
            "staff_ids": [staff_id],
        },
    )
    assert service.status_code == 201, service.text
    return {"staff_id": staff_id, "service_id": service.json()["id"], "slug": f"intake-{suffix}"}


def free_slots(stack, service_id: int) -> list[str]:
    """Start times of bookable slots in the coming days, through nginx, without a token."""
    today = datetime.now(UTC).date()
    with stack.public() as client:
        response = client.get(
            f"/booking/api/v1/services/{service_id}/slots",
            params={
                "start": (today + timedelta(days=2)).isoformat(),
                "end": (today + timedelta(days=5)).isoformat(),
                "tz": "America/Toronto",
            },
        )
    assert response.status_code == 200, response.text
    return [slot["start"] for slot in response.json()["slots"]]


def booking_body(service_id: int, start: str, email: str) -> dict:
    return {
        "service_id": service_id,
        "start": start,
        "mode": "phone",
        "client": {"name": "Client Example", "email": email, "language": "en"},
        "backup": {"callback_number": CALLBACK},
        "accommodations": {"captions": True},
    }


def mail_to(stack, address: str, count: int) -> list:
    return wait_until(
        lambda: (
            len(found := [m for m in stack.mail.messages() if m["To"] == address]) >= count
            and found
        ),
        timeout=60,
        what=f"{count} email(s) to the client",
    )


def calendar_of(message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    return part.get_content()


def test_fifty_concurrent_bookings_of_one_slot_through_nginx_exactly_one_wins(stack, clinic):
    start = free_slots(stack, clinic["service_id"])[0]
    barrier = threading.Barrier(50)
    statuses: list[int] = []
    lock = threading.Lock()

    def book(n: int) -> None:
        # Every racer comes from 127.0.0.1: with an API token (as the front desk books for
        # callers) the public per-address rate limit does not turn the race into 429s.
        staff = {"Authorization": f"Bearer {stack.admin_token}"}
        with httpx.Client(base_url=stack.public_url, timeout=60, headers=staff) as client:
            barrier.wait()
            response = client.post(
                "/booking/api/v1/appointments",
                json=booking_body(clinic["service_id"], start, f"racer-{n}@example.org"),
            )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=book, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(statuses) == [201] + [409] * 49
    assert start not in free_slots(stack, clinic["service_id"])


def test_client_books_gets_the_invite_reschedules_and_billing_hears_of_completion(
    stack, clinic, admin
):
    slots = free_slots(stack, clinic["service_id"])
    first, later = slots[4], slots[8]
    email = f"client-{uuid.uuid4().hex[:8]}@example.org"

    # The client loads the public booking page and books with the HTML form, through nginx.
    with stack.public() as browser:
        listing = browser.get("/booking/", headers={"Accept-Encoding": "gzip"})
        assert listing.status_code == 200, listing.text
        assert listing.headers["content-encoding"] == "gzip"
        assert f'href="/booking/{clinic["slug"]}' in listing.text
        page = browser.get(
            f"/booking/{clinic['slug']}",
            params={"mode": "phone", "tz": "America/Toronto", "start": first},
        )
        assert page.status_code == 200, page.text
        action, fields = next(
            (action, fields) for action, fields in post_forms(page.text) if "csrf_token" in fields
        )
        assert action in ("", f"/booking/{clinic['slug']}")
        fields.update(
            {"name": "Client Example", "email": email, "callback_number": CALLBACK, "captions": "1"}
        )
        posted = browser.post(action or f"/booking/{clinic['slug']}", data=fields)
        assert posted.status_code == 303, posted.text
        # The redirect carries the public prefix (X-Forwarded-Prefix reached the app).
        location = posted.headers["location"]
        assert location.startswith(("/booking/manage/", f"{stack.public_url}/booking/manage/"))
        confirmation = browser.get(location)
        assert confirmation.status_code == 200
    token = location.split("/booking/manage/", 1)[1].split("?")[0]
    listed = admin.get(
        "/booking/api/v1/appointments", params={"staff_id": clinic["staff_id"], "limit": 1000}
    ).json()
    appointment = next(a for a in listed if a["client_email"] == email)
    appointment_id = appointment["id"]
    assert appointment["start"] == first.replace("+00:00", "Z")
    assert appointment["accommodations"]["captions"] is True

    # The invite: booking -> notify (its outbox and workers) -> SMTP sink.
    invite = mail_to(stack, email, 1)[0]
    calendar = calendar_of(invite)
    assert "METHOD:REQUEST" in calendar
    assert appointment["uid"] in calendar.replace("\r\n ", "")
    # Links in the email point at the public side.
    assert f"{stack.public_url}/booking/manage/{token}" in invite.get_body(
        preferencelist=("plain",)
    ).get_content().replace("=\n", "")
    text = invite.get_body(preferencelist=("plain",)).get_content()
    assert CALLBACK[-4:] in text.replace(" ", "").replace("-", "")

    # The client reschedules through their manage link, through nginx.
    with stack.public() as client:
        moved = client.post(f"/booking/api/v1/manage/{token}/reschedule", json={"start": later})
        assert moved.status_code == 200, moved.text
        managed = client.get(f"/booking/api/v1/manage/{token}")
    assert managed.json()["start"] == later.replace("+00:00", "Z")
    update = mail_to(stack, email, 2)[-1]
    assert "SEQUENCE:1" in calendar_of(update)
    # The metrics of the booking instances count the manage route by its rule, never the token.
    metrics = "".join(
        httpx.get(f"{stack.instances[n]}/metrics").text for n in ("booking-1", "booking-2")
    )
    assert 'route="/api/v1/manage/<manage_token:token>/reschedule"' in metrics
    assert token not in metrics

    # The staff member's calendar feed, through nginx: the appointment at its new time,
    # the app's caching headers unchanged, gzip, and revalidation answered 304.
    issued = admin.post(f"/booking/api/v1/staff/{clinic['staff_id']}/feed-token")
    assert issued.status_code in (200, 201), issued.text
    feed_url = issued.json()["url"]
    assert feed_url.startswith(f"{stack.public_url}/booking/feeds/")
    with stack.public() as calendar_app:
        feed = calendar_app.get(feed_url, headers={"Accept-Encoding": "gzip"})
        assert feed.status_code == 200, feed.text
        assert feed.headers["content-type"].startswith("text/calendar")
        assert feed.headers["content-encoding"] == "gzip"
        assert feed.headers["cache-control"] == "private, max-age=300"
        events = {
            str(event["UID"]): event
            for event in icalendar.Calendar.from_ical(feed.text).walk("VEVENT")
        }
        moved_start = datetime.fromisoformat(later.replace("Z", "+00:00"))
        assert events[appointment["uid"]].decoded("DTSTART") == moved_start
        again = calendar_app.get(
            feed_url,
            headers={"Accept-Encoding": "gzip", "If-None-Match": feed.headers["etag"]},
        )
        assert again.status_code == 304
    feed_token = feed_url.rsplit("/", 1)[1].removesuffix(".ics")
    assert feed_token not in (stack.nginx_dir / "access.log").read_text()

    # The session takes place (it is moved to have begun an hour ago), then staff (here an
    # admin) complete it with notes; billing gets a signed webhook.
    took_place = sa.create_engine(stack.database_urls["booking"], poolclass=sa.pool.NullPool)
    with took_place.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE appointments SET start = now() - interval '1 hour',"
                ' "end" = "end" - (start - (now() - interval \'1 hour\')),'
                " blocked_start = blocked_start - (start - (now() - interval '1 hour')),"
                " blocked_end = blocked_end - (start - (now() - interval '1 hour'))"
                " WHERE id = :id"
            ),
            {"id": appointment_id},
        )
    took_place.dispose()
    before = len(stack.webhooks.requests())
    done = admin.post(
        f"/booking/api/v1/appointments/{appointment_id}/complete",
        json={"outcome": "resolved", "notes": "Intake done; documents checked."},
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    hook = stack.webhooks.wait_for(before + 1, timeout=60)[-1]
    headers = hook["headers"]
    secret = stack.env["FRONTDESK_BILLING_WEBHOOK_SECRET"]
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{hook['body']}"
    expected = base64.b64encode(hmac.new(key, signed.encode(), hashlib.sha256).digest()).decode()
    assert f"v1,{expected}" in headers["webhook-signature"].split()
    assert str(appointment_id) in json.dumps(json.loads(hook["body"]))


@pytest.fixture(scope="module")
def consent_service(admin, clinic):
    """A consent form with two required boxes, and a service that requires it."""
    form = admin.post(
        "/consent/api/v1/templates",
        json={
            "name": "Session recording and information sharing",
            "locales": {
                "en": {
                    "title": "Session recording and information sharing",
                    "body": "We may record the session to keep an accurate file.",
                    "checkboxes": {
                        "recording": "I agree that the session may be recorded.",
                        "sharing": "I agree that my file may be shared with my caseworker.",
                    },
                    "fields": {},
                }
            },
            "checkboxes": [{"key": "recording"}, {"key": "sharing"}],
        },
    )
    assert form.status_code == 201, form.text
    service = admin.post(
        "/booking/api/v1/services",
        json={
            "name": "Settlement intake with consent",
            "slug": f"intake-consent-{uuid.uuid4().hex[:8]}",
            "duration_minutes": 30,
            "modes": ["phone"],
            "min_notice_minutes": 0,
            "horizon_days": 30,
            "slot_step_minutes": 30,
            "staff_ids": [clinic["staff_id"]],
            "required_consent_template_ids": [form.json()["id"]],
        },
    )
    assert service.status_code == 201, service.text
    return {"service_id": service.json()["id"], "template_id": form.json()["id"]}


def test_client_signs_the_required_consent_from_the_email_link_and_the_pdf_validates(
    stack, consent_service, admin, tmp_path
):
    start = free_slots(stack, consent_service["service_id"])[12]
    email = f"signer-{uuid.uuid4().hex[:8]}@example.org"
    with stack.public() as client:
        booked = client.post(
            "/booking/api/v1/appointments",
            json=booking_body(consent_service["service_id"], start, email),
        )
    assert booked.status_code == 201, booked.text
    appointment_id = booked.json()["appointment"]["id"]

    # consent sends the signing link by email (through notify); it points at the public side.
    link_prefix = f"{stack.public_url}/consent/sign/"

    def signing_link():
        for message in stack.mail.messages():
            if message["To"] != email:
                continue
            text = message.get_body(preferencelist=("plain",)).get_content()
            found = re.search(re.escape(link_prefix) + r"([A-Za-z0-9_-]+)", text)
            if found:
                return found.group(1)
        return None

    token = wait_until(signing_link, timeout=60, what="the email with the signing link")
    # The client opens the link and signs with the HTML form, through nginx.
    with stack.public() as browser:
        page = browser.get(f"/consent/sign/{token}")
        assert page.status_code == 200, page.text
        action, fields = next(
            (action, fields) for action, fields in post_forms(page.text) if "csrf_token" in fields
        )
        fields.update(
            {
                "typed_name": "Client Example",
                "disclosure_accepted": "yes",
                "checkbox_recording": "yes",
                "checkbox_sharing": "yes",
                "timezone": "America/Toronto",
            }
        )
        signed = browser.post(action or f"/consent/sign/{token}", data=fields)
        assert signed.status_code == 200, signed.text
        download = re.search(r'href="([^"]+\.pdf)"', signed.text).group(1).replace("&amp;", "&")
        assert download.startswith((f"{stack.public_url}/consent/", "/consent/"))
        pdf = browser.get(download.removeprefix(stack.public_url))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    record = tmp_path / "record.pdf"
    record.write_bytes(pdf.content)

    # Integrity with poppler, trust in the organization's root with pyHanko.
    pdfsig = subprocess.run(
        ["pdfsig", "-nocert", str(record)], capture_output=True, text=True, timeout=60
    )
    assert "Signature is Valid" in pdfsig.stdout, pdfsig.stdout + pdfsig.stderr
    assert "Total document signed" in pdfsig.stdout
    pyhanko = subprocess.run(
        [
            str(BIN / "pyhanko"),
            "sign",
            "validate",
            "--trust",
            str(stack.signing_root),
            "--pretty-print",
            str(record),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert pyhanko.returncode == 0, pyhanko.stdout + pyhanko.stderr
    assert "trusted" in pyhanko.stdout.lower()

    # booking hears of the signature (consent -> booking over REST, through nginx).
    def consent_signed():
        appointment = admin.get(f"/booking/api/v1/appointments/{appointment_id}").json()
        return appointment["consents"] and all(
            c["status"] == "signed" for c in appointment["consents"]
        )

    wait_until(consent_signed, timeout=60, what="booking to show the consent as signed")


def test_killing_a_booking_instance_mid_run_loses_and_doubles_no_booking(stack, clinic, admin):
    starts = free_slots(stack, clinic["service_id"])[20:44]
    run = uuid.uuid4().hex[:8]
    outcomes: dict[str, int] = {}
    done = threading.Event()

    def book_all() -> None:
        # An API token, so 24 bookings from one address in a minute are not rate-limited.
        staff = {"Authorization": f"Bearer {stack.admin_token}"}
        with httpx.Client(base_url=stack.public_url, timeout=60, headers=staff) as client:
            for n, start in enumerate(starts):
                email = f"steady-{run}-{n}@example.org"
                # A request cut off with its instance is sent again with the same key.
                for _attempt in range(5):
                    try:
                        response = client.post(
                            "/booking/api/v1/appointments",
                            json=booking_body(clinic["service_id"], start, email),
                            headers={"Idempotency-Key": f"steady-{run}-{n}"},
                        )
                    except httpx.TransportError:
                        continue
                    if response.status_code not in (502, 503, 504):
                        break
                outcomes[email] = response.status_code
        done.set()

    worker = threading.Thread(target=book_all)
    worker.start()
    try:
        wait_until(lambda: len(outcomes) >= 6, timeout=60, what="the first bookings")
        stack.processes.stop("booking-2", sig=9)
        worker.join(timeout=180)
        assert done.is_set()
    finally:
        stack.processes.restart("booking-2")
        stack.wait_healthy("booking-2")
    assert set(outcomes.values()) <= {200, 201}, outcomes
    listed = admin.get(
        "/booking/api/v1/appointments", params={"staff_id": clinic["staff_id"], "limit": 1000}
    ).json()
    ours = sorted(a["client_email"] for a in listed if a["client_email"] in outcomes)
    assert ours == sorted(outcomes)  # every booking exactly once
