"""`frontdesk serve` runs the whole suite under gunicorn: health, OpenAPI and docs for each service."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

SERVICES = ("booking", "consent", "notify")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`frontdesk serve` in a subprocess on SQLite files in a temporary instance folder."""
    instance = tmp_path_factory.mktemp("serve")
    port = free_port()
    env = {
        **os.environ,
        "FRONTDESK_INSTANCE_DIR": str(instance),
        "FRONTDESK_BOOKING_DATABASE_URL": f"sqlite:///{instance / 'booking.db'}",
        "FRONTDESK_CONSENT_DATABASE_URL": f"sqlite:///{instance / 'consent.db'}",
        "FRONTDESK_NOTIFY_DATABASE_URL": f"sqlite:///{instance / 'notify.db'}",
        "FRONTDESK_CONSOLE_DATABASE_URL": f"sqlite:///{instance / 'console.db'}",
        "FRONTDESK_SMTP_URL": f"file://{instance / 'mail'}",
        "FRONTDESK_SMS_URL": f"file://{instance / 'sms'}",
    }
    log = open(instance / "serve.log", "w+")  # noqa: SIM115 - closed by the fixture
    process = subprocess.Popen(
        [sys.executable, "-m", "frontdesk.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=instance,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/booking/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
        if process.poll() is not None:
            break
    else:
        process.kill()
    log.seek(0)
    output = log.read()
    assert process.poll() is None, output
    yield base, output
    process.terminate()
    process.wait(timeout=20)
    log.close()


@pytest.mark.parametrize("service", SERVICES)
def test_serve_answers_health_openapi_and_docs(served, service):
    base, _ = served
    assert httpx.get(f"{base}/{service}/health").json()["status"] == "ok"
    spec = httpx.get(f"{base}/{service}/openapi.json")
    assert spec.status_code == 200 and spec.json()["openapi"].startswith("3.")
    docs = httpx.get(f"{base}/{service}/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_serve_runs_under_gunicorn_and_prints_links_and_token(served):
    base, output = served
    assert "gunicorn" in output.lower()
    assert f"{base}/booking/" in output
    assert "Admin token:" in output
    token = output.split("Admin token:")[1].split()[0]
    for service in SERVICES:
        who = httpx.get(
            f"{base}/{service}/api/v1/whoami", headers={"Authorization": f"Bearer {token}"}
        )
        assert who.json()["role"] == "admin"


def test_mount_prefix_comes_from_script_name(served):
    base, _ = served
    # Links the app builds carry the mount point it was given, never a hard-coded one.
    spec = httpx.get(f"{base}/notify/openapi.json").json()
    assert spec["servers"] == [{"url": "."}]
    assert httpx.get(f"{base}/", follow_redirects=False).headers["location"].endswith("booking/")


def test_serve_creates_the_demo_and_prints_its_booking_links(served):
    base, output = served
    assert "Maple Community Services" in output
    assert f"{base}/booking/settlement-intake" in output
    services = httpx.get(f"{base}/booking/api/v1/services").json()
    slugs = {service["slug"] for service in services}
    assert {"settlement-intake", "tax-clinic", "job-search-workshop"} <= slugs


def test_serve_prints_a_first_admin_sign_in_link_for_the_demo_office_manager(served):
    base, output = served
    assert f"Staff console:        {base}/console/" in output
    link = output.split("First admin sign-in:")[1].split()[0]
    assert link.startswith(f"{base}/console/sign-in/fdl_")
    with httpx.Client(base_url=base) as browser:
        confirm = browser.get(link)
        assert confirm.status_code == 200
        csrf = confirm.text.split('name="csrf_token" value="')[1].split('"')[0]
        signed_in = browser.post(link, data={"csrf_token": csrf})
        assert signed_in.status_code == 302
        agenda = browser.get(f"{base}/console/")
        assert "Grace Okafor" in agenda.text and "Setup" in agenda.text  # the demo's admin
        assert browser.post(link, data={"csrf_token": csrf}).status_code == 410  # once only


def test_the_demo_office_manager_is_never_offered_to_clients(served):
    base, _ = served
    for service in httpx.get(f"{base}/booking/api/v1/services").json():
        assert "Grace Okafor" not in httpx.get(f"{base}/booking/{service['slug']}").text
