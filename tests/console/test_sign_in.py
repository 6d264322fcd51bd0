"""Signing in by emailed link: one answer for every address, single-use 15-minute links,
sessions that end on sign-out (here and at the three services), idle and absolute expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from console_builders import csrf_of, link_path

from services.console.models import ConsoleSession, SignInLink
from services.console.pages.access import COOKIE
from shared import db as shared_db


def _ask_link(client, email: str):
    form = client.get("/sign-in")
    return client.post("/sign-in", data={"email": email, "csrf_token": csrf_of(form.text)})


def test_known_and_unknown_addresses_get_the_same_answer(console_app, make_staff):
    make_staff(email="amira@maple.example")
    client = console_app.test_client()
    known = _ask_link(client, "amira@maple.example")
    unknown = _ask_link(client, "nobody@maple.example")
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    assert "If this address belongs to a staff member" in known.text


def test_signing_in_from_the_emailed_link_opens_the_agenda(
    console_app, make_staff, deliver, emailed_links
):
    make_staff(email="amira@maple.example", name="Amira Haddad")
    client = console_app.test_client()
    _ask_link(client, "amira@maple.example")
    deliver()
    [url] = emailed_links("amira@maple.example")
    assert url.startswith("http://frontdesk.test/console/sign-in/")
    confirm = client.get(link_path(url))
    assert confirm.status_code == 200 and "<form" in confirm.text  # a GET spends nothing
    done = client.post(link_path(url), data={"csrf_token": csrf_of(confirm.text)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/")
    cookie = done.headers["Set-Cookie"]
    assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    agenda = client.get("/")
    assert agenda.status_code == 200 and "Amira Haddad" in agenda.text


def test_a_link_works_once(console_app, make_staff, deliver, emailed_links):
    make_staff(email="amira@maple.example")
    client = console_app.test_client()
    _ask_link(client, "amira@maple.example")
    deliver()
    path = link_path(emailed_links("amira@maple.example")[0])
    csrf = csrf_of(client.get(path).text)
    assert client.post(path, data={"csrf_token": csrf}).status_code == 302
    assert client.post(path, data={"csrf_token": csrf}).status_code == 410
    assert client.get(path).status_code == 410


def test_a_link_expires_after_15_minutes(console_app, make_staff, deliver, emailed_links):
    make_staff(email="amira@maple.example")
    client = console_app.test_client()
    _ask_link(client, "amira@maple.example")
    deliver()
    path = link_path(emailed_links("amira@maple.example")[0])
    with shared_db.get_db(console_app).transaction() as session:
        link = session.scalar(sa.select(SignInLink))
        assert link.expires_at - link.created_at == timedelta(minutes=15)
        link.expires_at = link.created_at - timedelta(seconds=1)
    assert client.get(path).status_code == 410


def test_inactive_staff_get_no_link(console_app, make_staff, deliver, emailed_links):
    make_staff(email="gone@maple.example", active=False)
    answer = _ask_link(console_app.test_client(), "gone@maple.example")
    deliver()
    assert answer.status_code == 200
    assert emailed_links("gone@maple.example") == []


def test_pages_need_a_session(console_app):
    answer = console_app.test_client().get("/?day=2030-01-02")
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/sign-in")


def _api_status(apps, service: str, token: str) -> int:
    return (
        apps[service]
        .test_client()
        .get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
        .status_code
    )


def _session_token(client) -> str:
    return client.get_cookie(COOKIE).value


def test_a_session_is_a_token_at_all_three_services(apps, make_staff, sign_in):
    make_staff(email="amira@maple.example")
    token = _session_token(sign_in("amira@maple.example"))
    assert [_api_status(apps, s, token) for s in ("booking", "consent", "notify")] == [200] * 3


def test_signing_out_revokes_the_session_at_all_three_services(
    apps, console_app, make_staff, sign_in, deliver
):
    make_staff(email="amira@maple.example")
    client = sign_in("amira@maple.example")
    token = _session_token(client)
    csrf = csrf_of(client.get("/").text)
    assert client.post("/sign-out", data={"csrf_token": csrf}).status_code == 302
    deliver()
    assert [_api_status(apps, s, token) for s in ("booking", "consent", "notify")] == [401] * 3
    client.set_cookie(COOKIE, token)
    assert client.get("/").status_code == 302  # and the console no longer takes the cookie


def test_sign_out_everywhere_ends_every_session(apps, console_app, make_staff, sign_in, deliver):
    make_staff(email="amira@maple.example")
    laptop = sign_in("amira@maple.example")
    phone = sign_in("amira@maple.example")
    tokens = [_session_token(laptop), _session_token(phone)]
    csrf = csrf_of(laptop.get("/").text)
    assert laptop.post("/sign-out-everywhere", data={"csrf_token": csrf}).status_code == 302
    assert phone.get("/").status_code == 302
    deliver()
    for token in tokens:
        assert [_api_status(apps, s, token) for s in ("booking", "consent", "notify")] == [401] * 3


def test_a_revocation_waits_in_the_outbox_while_a_service_is_down(
    apps, console_app, make_staff, sign_in, deliver, monkeypatch
):
    make_staff(email="amira@maple.example")
    client = sign_in("amira@maple.example")
    token = _session_token(client)
    csrf = csrf_of(client.get("/").text)
    clients = console_app.extensions["clients"]

    def down(*args, **kwargs):
        from shared.errors import ServiceCallFailed

        raise ServiceCallFailed("consent is down")

    monkeypatch.setattr(clients.consent, "request", down)
    client.post("/sign-out", data={"csrf_token": csrf})
    deliver()
    assert client.get("/").status_code == 302  # the console already refuses it
    assert _api_status(apps, "consent", token) == 200  # not delivered yet
    monkeypatch.undo()
    with shared_db.get_db(console_app).transaction() as session:
        from services.console.models import OutboxItem

        session.execute(sa.update(OutboxItem).values(next_attempt_at=OutboxItem.created_at))
    deliver()
    assert _api_status(apps, "consent", token) == 401


def test_an_idle_session_ends(console_app, make_staff, sign_in):
    make_staff(email="amira@maple.example")
    client = sign_in("amira@maple.example")
    with shared_db.get_db(console_app).transaction() as session:
        found = session.scalar(sa.select(ConsoleSession))
        found.last_seen_at -= timedelta(minutes=31)
    assert client.get("/").status_code == 302


def test_a_session_ends_after_12_hours_at_the_services_too(apps, console_app, make_staff, sign_in):
    make_staff(email="amira@maple.example")
    client = sign_in("amira@maple.example")
    token = _session_token(client)
    from services.booking.models import ApiToken

    with shared_db.get_db(apps["booking"]).transaction() as session:
        row = session.scalar(sa.select(ApiToken).where(ApiToken.role == "staff"))
        assert row.expires_at - row.created_at == pytest.approx(
            timedelta(hours=12), abs=timedelta(seconds=5)
        )
        row.expires_at = row.created_at
    assert _api_status(apps, "booking", token) == 401


def _first_refused(send, tries: int) -> int | None:
    for number in range(1, tries + 1):
        if send(number).status_code == 429:
            return number
    return None


def test_sign_in_form_is_limited_per_email_address(console_app, make_staff):
    make_staff(email="amira@maple.example")
    client = console_app.test_client()
    csrf = csrf_of(client.get("/sign-in").text)

    def ask(_number):
        return client.post("/sign-in", data={"email": "amira@maple.example", "csrf_token": csrf})

    assert _first_refused(ask, 10) == 6


def test_sign_in_form_is_limited_per_client_address(console_app):
    client = console_app.test_client()
    csrf = csrf_of(client.get("/sign-in").text)

    def ask(number):
        email = f"person{number}@maple.example"
        return client.post("/sign-in", data={"email": email, "csrf_token": csrf})

    assert _first_refused(ask, 15) == 11


def test_a_refused_sign_in_looks_the_same_for_known_and_unknown_addresses(console_app, make_staff):
    make_staff(email="amira@maple.example")
    client = console_app.test_client()
    csrf = csrf_of(client.get("/sign-in").text)
    answers = {}
    for email in ("amira@maple.example", "nobody@maple.example"):
        for _ in range(6):
            answer = client.post(
                "/sign-in",
                data={"email": email, "csrf_token": csrf},
                headers={"Accept": "text/html"},
            )
        answers[email] = (answer.status_code, answer.text)
    assert answers["amira@maple.example"] == answers["nobody@maple.example"]
    assert answers["amira@maple.example"][0] == 429


def test_a_typo_keeps_the_input_and_names_the_field(console_app):
    client = console_app.test_client()
    csrf = csrf_of(client.get("/sign-in").text)
    answer = client.post("/sign-in", data={"email": "amira@", "csrf_token": csrf})
    assert answer.status_code == 422
    assert 'value="amira@"' in answer.text and 'id="email-error"' in answer.text


def test_signing_out_reaches_the_services_right_after_the_answer(apps, make_staff, sign_in):
    make_staff(email="amira@maple.example")
    client = sign_in("amira@maple.example")
    token = _session_token(client)
    csrf = csrf_of(client.get("/").text)
    answer = client.post("/sign-out", data={"csrf_token": csrf})
    answer.close()  # as a WSGI server does once the answer is sent; no worker round after it
    assert [_api_status(apps, s, token) for s in ("booking", "consent", "notify")] == [401] * 3


def test_the_cookie_is_secure_over_https(console_app, make_staff, deliver, emailed_links):
    make_staff(email="amira@maple.example")
    client = console_app.test_client()
    https = {"base_url": "https://frontdesk.test"}
    form = client.get("/sign-in", **https)
    client.post(
        "/sign-in", data={"email": "amira@maple.example", "csrf_token": csrf_of(form.text)}, **https
    )
    deliver()
    path = link_path(emailed_links("amira@maple.example")[0])
    confirm = client.get(path, **https)
    done = client.post(path, data={"csrf_token": csrf_of(confirm.text)}, **https)
    assert done.status_code == 302
    cookie = done.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_token_revoked_at_a_service_ends_the_console_session(apps, make_staff, sign_in):
    staff_id = make_staff(email="amira@maple.example")
    client = sign_in("amira@maple.example")
    admin = {"Authorization": f"Bearer {apps['booking'].config['SERVICE_TOKEN']}"}
    revoked = (
        apps["booking"]
        .test_client()
        .post("/api/v1/tokens/revoke", json={"staff_id": staff_id}, headers=admin)
    )
    assert revoked.get_json() == {"revoked": 1}
    answer = client.get("/")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/sign-in")
    assert client.get("/").status_code == 302  # the console session ended with it


def test_a_sign_in_a_service_refuses_leaves_no_live_token_anywhere(
    apps, console_app, make_staff, deliver, emailed_links, monkeypatch
):
    from services.booking.models import ApiToken
    from shared.errors import ServiceCallFailed

    make_staff(email="amira@maple.example")
    client = console_app.test_client()
    client.post(
        "/sign-in",
        data={"email": "amira@maple.example", "csrf_token": csrf_of(client.get("/sign-in").text)},
    )
    deliver()
    path = link_path(emailed_links("amira@maple.example")[-1])
    page = client.get(path)

    def down(**kwargs):
        raise ServiceCallFailed("consent is down")

    monkeypatch.setattr(console_app.extensions["clients"].consent, "register_token", down)
    refused = client.post(path, data={"csrf_token": csrf_of(page.text)})
    assert refused.status_code == 503
    with shared_db.get_db(apps["booking"]).transaction() as session:
        taken = session.scalars(sa.select(ApiToken).where(ApiToken.role == "staff")).all()
    assert taken and all(row.revoked_at is not None for row in taken)
