"""Token routes resist enumeration: an unknown token and a revoked or used one get the same
404, byte for byte apart from the request id, and no answer, error page or log line echoes
the token."""

from __future__ import annotations

import json
import logging

import pytest
from abuse_builders import SIGNATURE

from services.booking.operations import catalog, feeds
from shared import db as shared_db

HTML = {"Accept": "text/html"}
UNKNOWN_MANAGE = "fdm_" + "0" * 48


def without_request_id(response) -> dict:
    body = json.loads(response.get_data(as_text=True))
    assert body.pop("request_id")
    return body


def same_404(first, second) -> None:
    """Both answers are the same 404: status, headers that matter, and the body."""
    assert first.status_code == second.status_code == 404
    assert first.mimetype == second.mimetype
    if first.mimetype == "text/html":
        assert first.get_data() == second.get_data()
    else:
        assert without_request_id(first) == without_request_id(second)
    assert sorted(first.headers.keys()) == sorted(second.headers.keys())


class RawRecords(logging.Handler):
    """What the code asked to log (before the formatter's redaction)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.getMessage()} {record.__dict__!r}")


@pytest.fixture
def raw_logs():
    handler = RawRecords()
    logger = logging.getLogger("frontdesk")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_cancelled_appointments_manage_token_is_the_same_404_as_an_unknown_one(
    booking_app, book_api, raw_logs
):
    """Apart from the manage page, which tells its client the appointment was cancelled."""
    token = book_api(10)["manage_token"]
    client = booking_app.test_client()
    cancelled = client.post(f"/api/v1/manage/{token}/cancel", json={})
    assert cancelled.status_code == 200
    for path in ("/api/v1/manage/{}", "/manage/{}/event.ics"):
        for headers in ({}, HTML):
            revoked = client.get(path.format(token), headers=headers)
            unknown = client.get(path.format(UNKNOWN_MANAGE), headers=headers)
            same_404(revoked, unknown)
            assert token not in revoked.get_data(as_text=True)
    page = client.get(f"/manage/{token}", headers=HTML)
    assert page.status_code == 410 and "This appointment was cancelled" in page.text
    assert token not in page.get_data(as_text=True)
    for action in ("cancel", "reschedule"):
        revoked = client.post(f"/api/v1/manage/{token}/{action}", json={"start": None})
        unknown = client.post(f"/api/v1/manage/{UNKNOWN_MANAGE}/{action}", json={"start": None})
        assert revoked.status_code == unknown.status_code
        assert without_request_id(revoked) == without_request_id(unknown)
    assert not any(token in line for line in raw_logs.lines)


def test_rotated_revoked_and_unknown_feed_tokens_are_the_same_404(booking_app, service):
    with shared_db.get_db(booking_app).transaction() as session:
        staff = catalog.get_staff(session=session, staff_id=service["staff_id"])
        rotated = feeds.issue_token(session=session, staff=staff)
        current = feeds.issue_token(session=session, staff=staff)
    client = booking_app.test_client()
    assert client.get(f"/feeds/{current}.ics").status_code == 200
    with shared_db.get_db(booking_app).transaction() as session:
        staff = catalog.get_staff(session=session, staff_id=service["staff_id"])
        feeds.revoke_token(session=session, staff=staff)
    unknown = client.get(f"/feeds/{current[:4]}{'A' * (len(current) - 4)}.ics")
    for token in (rotated, current):
        answer = client.get(f"/feeds/{token}.ics")
        same_404(answer, unknown)
        assert token not in answer.get_data(as_text=True)


def test_unknown_signing_and_download_links_never_echo_the_token(consent_app, raw_logs):
    client = consent_app.test_client()
    first, second = "fds_" + "a" * 43, "fds_" + "b" * 43
    for path in ("/api/v1/sign/{}", "/sign/{}", "/records/{}.pdf"):
        for headers in ({}, HTML):
            one = client.get(path.format(first), headers=headers)
            other = client.get(path.format(second), headers=headers)
            same_404(one, other)
            assert first not in one.get_data(as_text=True)
    assert not any(first in line for line in raw_logs.lines)


def test_used_signing_links_answer_without_the_token(consent_app, make_signing_link, raw_logs):
    _, token = make_signing_link()
    client = consent_app.test_client()
    assert client.post(f"/api/v1/sign/{token}/decline", json={}).status_code == 200
    for path in (f"/api/v1/sign/{token}", f"/sign/{token}"):
        for headers in ({}, HTML):
            used = client.get(path, headers=headers)
            assert used.status_code == 410
            assert token not in used.get_data(as_text=True)
    assert not any(token in line for line in raw_logs.lines)


def test_a_signed_records_download_link_is_never_echoed(consent_app, make_signing_link):
    _, token = make_signing_link()
    client = consent_app.test_client()
    signed = client.post(f"/api/v1/sign/{token}", json=SIGNATURE)
    download = signed.get_json()["download_url"].rsplit("/", 1)[1].removesuffix(".pdf")
    response = client.get(f"/records/{download}.pdf")
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert download.encode() not in response.get_data()
