"""The deployment itself, through real gunicorn and nginx: routing, prefixes, what stays internal,
request ids, logs without tokens, metrics summed over workers, losing one booking instance."""

from __future__ import annotations

import gzip
import re
import subprocess

import httpx
import pytest
from e2e_harness import BIN, free_port, gunicorn_instances, wait_until
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.e2e

FEED_TOKEN = "Zq8vN3kLm4pR7sT1uW2xY5aB6cD9eF0g"


@pytest.mark.parametrize("instance", list(gunicorn_instances()))
def test_every_service_is_healthy_through_its_own_gunicorn(stack, instance):
    response = httpx.get(f"{stack.instances[instance]}/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "service": gunicorn_instances()[instance],
        "database": "ok",
    }


@pytest.mark.parametrize("service", ["booking", "consent"])
def test_public_services_answer_health_through_nginx(stack, service):
    with stack.public() as client:
        response = client.get(f"/{service}/health")
    assert response.status_code == 200
    assert response.json()["service"] == service


@pytest.mark.parametrize("service", ["booking", "consent"])
def test_docs_through_nginx_link_the_spec_under_the_public_prefix(stack, service):
    with stack.public() as client:
        spec = client.get(f"/{service}/openapi.json")
        docs = client.get(f"/{service}/docs")
    assert spec.status_code == 200 and spec.json()["openapi"].startswith("3.")
    assert docs.status_code == 200
    # The app learnt its mount point from X-Forwarded-Prefix: the link carries /booking/.
    assert f"/{service}/openapi.json" in docs.text


def test_root_redirects_to_the_booking_pages(stack):
    with stack.public() as client:
        response = client.get("/")
        assert response.status_code == 302
        assert response.headers["location"] == "/booking/"
        bare = client.get("/booking")
        assert bare.status_code == 301
        assert bare.headers["location"] == "/booking/"


@pytest.mark.parametrize(
    "path",
    [
        "/notify/health",
        "/notify/",
        "/notify",
        "/notify/openapi.json",
        "/notify/docs",
        "/notify/api/v1/messages",
        "/booking/metrics",
        "/consent/metrics",
        "/booking/metrics/",
        "/booking/%6Detrics",
        "/booking//metrics",
        "/elsewhere",
    ],
)
def test_internal_routes_answer_404_through_nginx(stack, path):
    with stack.public() as client:
        response = client.get(path)
    assert response.status_code == 404
    assert "frontdesk_http_requests" not in response.text


def test_unknown_host_names_get_no_answer(stack):
    with pytest.raises(httpx.RemoteProtocolError), stack.public() as client:
        client.get("/booking/health", headers={"Host": "attacker.example"})


def test_metrics_answer_on_the_internal_port_summed_over_workers(stack):
    before = _health_count(stack, "booking-1")
    for _ in range(12):
        assert httpx.get(f"{stack.instances['booking-1']}/health").status_code == 200
    # booking-1 runs two gunicorn workers: every request counts, whichever worker took it.
    assert _health_count(stack, "booking-1") == before + 12


def test_requests_through_nginx_are_spread_over_both_booking_instances(stack):
    before = {name: _health_count(stack, name) for name in ("booking-1", "booking-2")}
    sent = 0

    def both_served() -> bool:
        nonlocal sent
        with stack.public() as client:
            for _ in range(4):
                assert client.get("/booking/health").status_code == 200
                sent += 1
        grown = {name: _health_count(stack, name) - before[name] for name in before}
        assert sum(grown.values()) == sent
        return all(count > 0 for count in grown.values())

    # An instance restarted by another test is given traffic again after nginx's fail_timeout.
    wait_until(both_served, timeout=30, step=0.5, what="both booking instances to get requests")


def test_request_id_passes_through_nginx_both_ways(stack):
    with stack.public() as client:
        given = client.get("/booking/health", headers={"X-Request-ID": "e2e-trace-0001"})
        made = client.get("/booking/health")
        bad = client.get("/booking/health", headers={"X-Request-ID": "no spaces allowed"})
    assert given.headers["x-request-id"] == "e2e-trace-0001"
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{32}", bad.headers["x-request-id"])
    # gunicorn writes its access line after the response has gone out.
    wait_until(
        lambda: '"request_id": "e2e-trace-0001"' in booking_logs(stack),
        timeout=10,
        what="the request id in gunicorn's access log",
    )
    wait_until(  # nginx logs after the answer has gone out, too
        lambda: '"request_id":"e2e-trace-0001"' in (stack.nginx_dir / "access.log").read_text(),
        timeout=10,
        what="the request id in nginx's access log",
    )


def test_access_logs_never_hold_path_tokens(stack):
    with stack.public() as client:
        client.get(f"/booking/api/v1/feeds/{FEED_TOKEN}.ics?token={FEED_TOKEN}")
    wait_until(
        lambda: '"path": "/booking/api/v1/feeds/[redacted].ics"' in booking_logs(stack),
        timeout=10,
        what="the redacted path in gunicorn's access log",
    )
    # nginx writes its line in its log phase, after the answer has gone out: wait for it too.
    wait_until(
        lambda: (
            '"path":"/booking/api/v1/feeds/[redacted].ics"'
            in (stack.nginx_dir / "access.log").read_text()
        ),
        timeout=10,
        what="the redacted path in nginx's access log",
    )
    nginx_log = (stack.nginx_dir / "access.log").read_text()
    every_log = nginx_log + "".join(p.log() for p in stack.processes.procs.values())
    assert FEED_TOKEN not in every_log


def test_json_is_gzipped_through_nginx(stack):
    with (
        stack.public() as client,
        client.stream(
            "GET", "/booking/openapi.json", headers={"Accept-Encoding": "gzip"}
        ) as response,
    ):
        raw = b"".join(response.iter_raw())
    assert response.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["vary"]
    assert gzip.decompress(raw).startswith(b"{")


def test_body_over_the_limit_is_refused_by_nginx(stack):
    with stack.public() as client:
        response = client.post(
            "/booking/api/v1/whoami",
            content=b"x" * (3 * 1024 * 1024),
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 413


def test_losing_one_booking_instance_loses_no_request(stack):
    stack.processes.stop("booking-2", sig=9)
    try:
        with stack.public() as client:
            statuses = [client.get("/booking/health").status_code for _ in range(20)]
        assert statuses == [200] * 20
    finally:
        stack.processes.restart("booking-2")
        stack.wait_healthy("booking-2")


def _health_count(stack, instance: str) -> float:
    text = httpx.get(f"{stack.instances[instance]}/metrics").text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "frontdesk_http_requests_total"
        and sample.labels == {"route": "/health", "method": "GET", "status": "200"}
    )


def booking_logs(stack) -> str:
    return stack.processes.procs["booking-1"].log() + stack.processes.procs["booking-2"].log()


def test_frontdesk_check_passes_against_the_running_stack(stack):
    output = stack.frontdesk("check")
    assert "FAIL" not in output
    for subject in ("booking database", "smtp", "signing certificate", "notify service"):
        assert f"ok    {subject}:" in output


def test_frontdesk_check_fails_when_a_service_is_down(stack):
    result = subprocess.run(
        [str(BIN / "frontdesk"), "check", "booking"],
        env={**stack.env, "FRONTDESK_NOTIFY_URL": f"http://127.0.0.1:{free_port()}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "FAIL  notify service:" in result.stdout


def test_every_registered_worker_kind_runs_as_its_own_process(stack):
    from frontdesk.workers import WORKERS

    assert sorted(stack.workers) == sorted(WORKERS)
    for kind in stack.workers:
        stack.processes.check_alive(f"worker-{kind}")
