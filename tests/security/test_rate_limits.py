"""Rate limits on every public POST and every token lookup, per client address and per token."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
from abuse_builders import SIGNATURE, address, at, booking_body, next_monday
from flask import Blueprint, Flask

from services.booking import models as booking_models
from services.booking import rate_limits as booking_limits
from services.consent import rate_limits as consent_limits
from shared.app import configure
from shared.pages import init_pages
from shared.rate_limits import Rule, client_address, limit_routes, limiter_of

HTML = {"Accept": "text/html"}


def first_refused(send, tries: int) -> int | None:
    """Call send(i) up to `tries` times; the number of the first 429 (1-based), or None."""
    for number in range(1, tries + 1):
        if send(number).status_code == 429:
            return number
    return None


def assert_rate_limited_problem(response) -> None:
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "rate_limited" and body["status"] == 429
    assert int(response.headers["Retry-After"]) >= 1


# --- booking -----------------------------------------------------------------------------------


def test_eleventh_booking_post_from_one_address_in_a_minute_gets_429(booking_app, service):
    client = booking_app.test_client()
    # Invalid bodies (422) count too: the limit runs before the work.
    body = {**booking_body(service["id"], at(next_monday(), 10)), "mode": "x"}
    statuses = [
        client.post("/api/v1/appointments", json=body, environ_base=address(1)).status_code
        for _ in range(11)
    ]
    assert 429 not in statuses[:10]
    refused = client.post("/api/v1/appointments", json=body, environ_base=address(1))
    assert_rate_limited_problem(refused)
    other = client.post("/api/v1/appointments", json=body, environ_base=address(2))
    assert other.status_code != 429


def test_booking_limit_is_the_named_constant(booking_app, service):
    allowed = int(booking_limits.BOOK.rate.split("/")[0])
    body = booking_body(service["id"], at(next_monday(), 10))
    client = booking_app.test_client()

    def send(_number):
        return client.post(
            "/api/v1/appointments", json={**body, "mode": "x"}, environ_base=address(3)
        )

    assert first_refused(send, allowed + 1) == allowed + 1


def test_callers_with_an_api_token_are_not_counted(booking_app, service, make_token):
    headers = {"Authorization": f"Bearer {make_token('booking', 'admin')}"}
    body = {**booking_body(service["id"], at(next_monday(), 10)), "mode": "x"}
    client = booking_app.test_client()
    statuses = {
        client.post("/api/v1/appointments", json=body, headers=headers).status_code
        for _ in range(15)
    }
    assert statuses == {422}


def test_an_invalid_api_token_does_not_escape_the_limit(booking_app, service):
    headers = {"Authorization": "Bearer fda_not-a-real-token-at-all"}
    body = {**booking_body(service["id"], at(next_monday(), 10)), "mode": "x"}
    client = booking_app.test_client()

    def send(_number):
        return client.post("/api/v1/appointments", json=body, headers=headers)

    assert first_refused(send, 11) == 11


def test_one_manage_link_is_limited_from_many_addresses(booking_app, book_api):
    token = book_api(10)["manage_token"]
    client = booking_app.test_client()
    allowed = int(booking_limits.TOKEN_READ_PER_TOKEN.rate.split("/")[0])

    def send(number):
        return client.get(f"/api/v1/manage/{token}", environ_base=address(number))

    assert first_refused(send, allowed + 1) == allowed + 1
    refused = client.get(f"/api/v1/manage/{token}", environ_base=address(200))
    assert_rate_limited_problem(refused)
    assert token not in refused.get_data(as_text=True)


def test_manage_posts_are_limited_per_token(booking_app, book_api):
    token = book_api(10)["manage_token"]
    client = booking_app.test_client()
    body = {"start": "2001-01-01T10:00:00Z"}  # in the past: 422, but counted

    def send(number):
        return client.post(
            f"/api/v1/manage/{token}/reschedule", json=body, environ_base=address(number)
        )

    assert first_refused(send, 11) == 11


def test_unknown_manage_tokens_from_one_address_are_limited(booking_app):
    client = booking_app.test_client()
    allowed = int(booking_limits.TOKEN_READ_PER_ADDRESS.rate.split("/")[0])

    def send(number):
        return client.get(f"/api/v1/manage/fdm_{number:048x}", environ_base=address(7))

    assert first_refused(send, allowed + 1) == allowed + 1


def test_manage_page_limit_shows_the_friendly_page(booking_app, book_api):
    token = book_api(10)["manage_token"]
    client = booking_app.test_client()
    allowed = int(booking_limits.TOKEN_READ_PER_TOKEN.rate.split("/")[0])
    for number in range(allowed):
        assert (
            client.get(f"/manage/{token}", headers=HTML, environ_base=address(number)).status_code
            == 200
        )
    refused = client.get(f"/manage/{token}", headers=HTML, environ_base=address(99))
    assert refused.status_code == 429
    assert refused.mimetype == "text/html"
    page = refused.get_data(as_text=True)
    assert "Too many tries" in page and token not in page
    assert int(refused.headers["Retry-After"]) >= 1


def _with_csrf(client) -> dict[str, str]:
    """A page form's CSRF field, the same token put in the client's session."""
    with client.session_transaction() as session:
        session["csrf"] = "csrf-for-the-limit"
    return {"csrf_token": "csrf-for-the-limit"}


def test_booking_page_posts_from_one_address_are_limited_by_the_pages_rule(booking_app, service):
    client = booking_app.test_client()
    form = _with_csrf(client)  # and nothing else: an incomplete form, answered, but counted
    allowed = int(booking_limits.PAGE_POSTS.rate.split("/")[0])

    def send(_number):
        return client.post("/intake", data=form, headers=HTML, environ_base=address(11))

    assert first_refused(send, allowed + 1) == allowed + 1
    assert (
        client.post("/intake", data=form, headers=HTML, environ_base=address(12)).status_code != 429
    )


def test_feeds_are_limited_per_token_but_generously(booking_app, feed_token):
    client = booking_app.test_client()
    allowed = int(booking_limits.FEED_PER_TOKEN.rate.split("/")[0])
    assert allowed >= 30

    def send(number):
        return client.get(f"/feeds/{feed_token}.ics", environ_base=address(number))

    assert first_refused(send, allowed + 1) == allowed + 1
    refused = send(1)
    assert_rate_limited_problem(refused)


# --- consent -----------------------------------------------------------------------------------


def test_one_signing_link_is_limited_from_many_addresses(consent_app, make_signing_link):
    _, token = make_signing_link()
    client = consent_app.test_client()
    allowed = int(consent_limits.TOKEN_READ_PER_TOKEN.rate.split("/")[0])

    def send(number):
        return client.get(f"/api/v1/sign/{token}", environ_base=address(number))

    assert first_refused(send, allowed + 1) == allowed + 1
    assert_rate_limited_problem(send(0))


@pytest.mark.parametrize("action", ["", "/decline", "/withdraw"])
def test_signing_posts_are_limited_per_token(consent_app, make_signing_link, action):
    _, token = make_signing_link()
    client = consent_app.test_client()
    # An invalid body (422) still counts: the limit runs before the work.
    body = {"reason": ""} if action else {**SIGNATURE, "disclosure_accepted": "maybe"}

    def send(number):
        return client.post(f"/api/v1/sign/{token}{action}", json=body, environ_base=address(number))

    assert first_refused(send, 11) == 11


def test_verify_posts_from_one_address_are_limited(consent_app):
    client = consent_app.test_client()
    allowed = int(consent_limits.VERIFY.rate.split("/")[0])

    def send(_number):
        return client.post(
            "/api/v1/verify",
            data=b"%PDF-1.7 not really",
            content_type="application/pdf",
            environ_base=address(5),
        )

    assert first_refused(send, allowed + 1) == allowed + 1
    assert_rate_limited_problem(send(0))


def test_record_downloads_are_limited_per_token(consent_app, make_signing_link):
    _, token = make_signing_link()
    client = consent_app.test_client()
    signed = client.post(f"/api/v1/sign/{token}", json=SIGNATURE)
    assert signed.status_code == 200, signed.get_json()
    download = signed.get_json()["download_url"].rsplit("/", 1)[1]
    allowed = int(consent_limits.DOWNLOAD_PER_TOKEN.rate.split("/")[0])

    def send(number):
        return client.get(f"/records/{download}", environ_base=address(number))

    assert send(0).mimetype == "application/pdf"
    assert first_refused(send, allowed) == allowed
    assert_rate_limited_problem(send(0))


def test_signing_page_limit_shows_the_friendly_page(consent_app, make_signing_link):
    _, token = make_signing_link()
    client = consent_app.test_client()
    allowed = int(consent_limits.TOKEN_READ_PER_TOKEN.rate.split("/")[0])
    for number in range(allowed):
        client.get(f"/sign/{token}", headers=HTML, environ_base=address(number))
    refused = client.get(f"/sign/{token}", headers=HTML, environ_base=address(99))
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    assert token not in refused.get_data(as_text=True)


def _forms_app(database_urls, blueprint_limits):
    """A page app with a blueprint `forms` of two POST routes, limited by `blueprint_limits`."""
    app = Flask("limits", root_path=str(Path(__file__).resolve().parents[2] / "services/booking"))
    configure(
        app,
        "booking",
        {"DATABASE_URL": database_urls["booking"], "SECRET_KEY": "x"},
        booking_models.ApiToken,
    )
    init_pages(app)
    forms = Blueprint("forms", __name__)

    @forms.route("/one", methods=["GET", "POST"])
    def one():
        return "one"

    @forms.post("/two")
    def two():
        return "two"

    app.register_blueprint(forms)
    limit_routes(app, {}, blueprint_limits)
    return app


def test_a_blueprint_rule_limits_the_posts_to_each_of_its_routes(database_urls):
    app = _forms_app(database_urls, {"forms": (Rule("2/minute", methods=("POST",)),)})
    client = app.test_client()
    form = _with_csrf(client)
    assert [client.post("/one", data=form).status_code for _ in range(2)] == [200, 200]
    assert client.get("/one").status_code == 200  # GETs are not counted
    assert client.post("/one", data=form).status_code == 429
    assert client.post("/one", data=form, environ_base=address(2)).status_code == 200
    assert client.post("/two", data=form).status_code == 200


def test_a_blueprint_rule_for_an_unknown_blueprint_fails_at_start(database_urls):
    with pytest.raises(KeyError):
        _forms_app(database_urls, {"form": (Rule("2/minute"),)})


def test_rate_limits_are_written_only_in_the_rate_limits_modules():
    # Anywhere else, a limit ("10/minute", "10 per minute") would be a second place to change.
    root = Path(__file__).resolve().parents[2]
    rate = re.compile(r"""["'][0-9]+ ?(/| per )(second|minute|hour|day)""")
    found = [
        str(path.relative_to(root))
        for folder in ("services", "shared", "frontdesk")
        for path in (root / folder).rglob("*.py")
        if path.name != "rate_limits.py" and rate.search(path.read_text())
    ]
    assert found == []


# --- how limits are counted --------------------------------------------------------------------


def test_limiter_storage_never_holds_a_raw_token(
    booking_app, consent_app, book_api, make_signing_link
):
    manage = book_api(10)["manage_token"]
    _, signing = make_signing_link()
    booking_app.test_client().get(f"/api/v1/manage/{manage}")
    consent_app.test_client().get(f"/api/v1/sign/{signing}")
    for app, token in ((booking_app, manage), (consent_app, signing)):
        keys = list(limiter_of(app).storage.storage)
        assert any("token:" in key for key in keys)
        assert not any(token in key for key in keys)
        assert all(key.startswith(f"LIMITER/{app.config['SERVICE_NAME']}/") for key in keys)


@pytest.mark.parametrize(
    ("remote", "counted"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::7", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
    ],
)
def test_ipv6_callers_are_counted_by_their_64(booking_app, remote, counted):
    with booking_app.test_request_context("/", environ_base={"REMOTE_ADDR": remote}):
        assert client_address() == counted
    ipaddress.ip_network(counted, strict=False)


def concrete(path: str) -> str:
    """A URL the router matches for an OpenAPI path: tokens of the right shape, ids of 1."""
    token = "fdf_" + "0" * 43 if path.startswith("/feeds") else "fdm_" + "0" * 48
    return re.sub(r"\{[^}]+\}", "1", path.replace("{token}", token))


def _operations(app):
    """(method, path, endpoint, operation) for every operation of the app's OpenAPI document."""
    spec = app.test_client().get("/openapi.json").get_json()
    adapter = app.url_map.bind("localhost")
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                endpoint, _ = adapter.match(concrete(path), method=method.upper())
                yield method, path, endpoint, operation


def _public_operations(app):
    for method, path, endpoint, operation in _operations(app):
        if method in ("post", "put", "patch", "delete") and "x-roles" not in operation:
            yield method, path, endpoint


@pytest.mark.parametrize(
    ("service", "table"),
    [("booking", booking_limits.LIMITS), ("consent", consent_limits.LIMITS)],
)
def test_every_public_write_in_the_openapi_document_is_rate_limited(apps, service, table):
    public = list(_public_operations(apps[service]))
    assert public
    unlimited = [
        f"{method.upper()} {path}"
        for method, path, endpoint in public
        if not any(
            not rule.methods or method.upper() in rule.methods for rule in table.get(endpoint, ())
        )
    ]
    assert unlimited == []


@pytest.mark.parametrize(
    ("service", "table"),
    [("booking", booking_limits.LIMITS), ("consent", consent_limits.LIMITS)],
)
def test_every_rate_limited_operation_documents_its_429(apps, service, table):
    limited = 0
    for method, path, endpoint, operation in _operations(apps[service]):
        rules = table.get(endpoint, ())
        if any(not rule.methods or method.upper() in rule.methods for rule in rules):
            limited += 1
            assert "429" in operation["responses"], f"{method.upper()} {path}"
    assert limited >= 5


def test_slot_search_from_one_address_is_limited_generously(booking_app, service):
    client = booking_app.test_client()
    allowed = int(booking_limits.SLOT_SEARCH.rate.split("/")[0])
    assert allowed >= 100
    day = next_monday()
    url = f"/api/v1/services/{service['id']}/slots?start={day}&end={day}"

    def send(_number):
        return client.get(url, environ_base=address(9))

    assert first_refused(send, allowed + 1) == allowed + 1
    assert_rate_limited_problem(send(0))
    assert client.get(url, environ_base=address(10)).status_code == 200
