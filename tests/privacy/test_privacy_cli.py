"""`frontdesk client export|erase EMAIL` against a real `frontdesk serve` (gunicorn, SQLite files)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

EMAIL = "lena.petrova@example.org"
PHONE = "+16045550142"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`frontdesk serve` with the demo organization; yields (base URL, env for the CLI)."""
    instance = tmp_path_factory.mktemp("privacy-serve")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "FRONTDESK_INSTANCE_DIR": str(instance),
        "FRONTDESK_BOOKING_DATABASE_URL": f"sqlite:///{instance / 'booking.db'}",
        "FRONTDESK_CONSENT_DATABASE_URL": f"sqlite:///{instance / 'consent.db'}",
        "FRONTDESK_NOTIFY_DATABASE_URL": f"sqlite:///{instance / 'notify.db'}",
        "FRONTDESK_SMTP_URL": f"file://{instance / 'mail'}",
        "FRONTDESK_SMS_URL": f"file://{instance / 'sms'}",
        "FRONTDESK_PUBLIC_URL": base,
        # where the CLI finds the services (the server itself calls them in-process)
        **{f"FRONTDESK_{s.upper()}_URL": f"{base}/{s}" for s in ("booking", "consent", "notify")},
    }
    env.pop("FRONTDESK_SERVICE_TOKEN", None)
    log = open(instance / "serve.log", "w+")  # noqa: SIM115 - closed by the fixture
    process = subprocess.Popen(
        [sys.executable, "-m", "frontdesk.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=instance,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{base}/booking/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        log.seek(0)
        assert process.poll() is None, log.read()
        yield base, env, instance
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def _cli(env, instance, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "frontdesk.cli", "client", *args],
        env=env,
        cwd=instance,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _book_tax_clinic(base: str) -> int:
    services = httpx.get(f"{base}/booking/api/v1/services").json()
    tax = next(s for s in services if s["slug"] == "tax-clinic")
    start = datetime.now(UTC).date() + timedelta(days=7)
    slots = httpx.get(
        f"{base}/booking/api/v1/services/{tax['id']}/slots",
        params={"start": start.isoformat(), "end": (start + timedelta(days=7)).isoformat()},
    ).json()["slots"]
    booked = httpx.post(
        f"{base}/booking/api/v1/appointments",
        json={
            "service_id": tax["id"],
            "start": slots[0]["start"],
            "mode": "phone",
            "client": {"name": "Lena Petrova", "email": EMAIL, "phone": PHONE},
            "backup": {"callback_number": PHONE},
            "client_notes": "Bring the T4 slips",
        },
    )
    assert booked.status_code == 201, booked.text
    return booked.json()["appointment"]["id"]


def test_cli_exports_then_erases_a_client_of_a_running_suite(served):
    base, env, instance = served
    appointment_id = _book_tax_clinic(base)
    exported = _cli(env, instance, "export", EMAIL)
    assert exported.returncode == 0, exported.stderr
    data = json.loads(exported.stdout)
    appointments = data["services"]["booking"]["appointments"]
    assert [a["id"] for a in appointments] == [appointment_id]
    assert appointments[0]["client_notes"] == "Bring the T4 slips"
    unconfirmed = _cli(env, instance, "erase", EMAIL)
    assert unconfirmed.returncode == 2 and "--yes" in unconfirmed.stderr
    erased = _cli(env, instance, "erase", EMAIL, "--yes")
    assert erased.returncode == 0, erased.stderr
    result = json.loads(erased.stdout)["services"]
    assert result["booking"]["erased"]["appointments_anonymized"] == 1
    assert set(result) == {"booking", "consent", "notify"}
    after = _cli(env, instance, "export", EMAIL)
    services = json.loads(after.stdout)["services"]
    assert services["booking"]["appointments"] == []
    assert EMAIL not in json.dumps(services) and PHONE not in json.dumps(services)


def test_cli_with_a_wrong_token_fails_with_a_clear_message(served):
    _base, env, instance = served
    refused = _cli(env, instance, "export", EMAIL, "--token", "fda_not-a-real-token-at-all-000000")
    assert refused.returncode == 1
    assert "booking answered 401 token_invalid" in refused.stderr
