"""GET /metrics: request counts and latency by URL rule (never raw paths), and database gauges."""

from __future__ import annotations

import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from shared.metrics import register_gauge


def scrape(app) -> dict[str, list]:
    """Metric name -> samples, from the app's /metrics."""
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    families = text_string_to_metric_families(response.get_data(as_text=True))
    return {family.name: family.samples for family in families}


def request_count(samples, **labels) -> float:
    return sum(
        s.value
        for s in samples
        if s.name.endswith("_total") and all(s.labels.get(k) == v for k, v in labels.items())
    )


def fresh_booking_app(database_urls):
    from services.booking.app import create_app

    return create_app({"DATABASE_URL": database_urls["booking"], "TESTING": True})


def test_requests_are_counted_by_url_rule_without_tokens(database_urls):
    app = fresh_booking_app(database_urls)

    @app.get("/api/v1/probe-feeds/<token>.ics")
    def feed(token):
        return "BEGIN:VCALENDAR"

    client = app.test_client()
    secret = "s3cr3t-feed-token-abcdefghijklmnop"
    for _ in range(3):
        assert client.get(f"/api/v1/probe-feeds/{secret}.ics").status_code == 200
    client.get("/health")
    client.get("/no/such/page")

    text = client.get("/metrics").get_data(as_text=True)
    assert secret not in text
    samples = scrape(app)["frontdesk_http_requests"]
    assert (
        request_count(samples, route="/api/v1/probe-feeds/<token>.ics", method="GET", status="200")
        == 3
    )
    assert request_count(samples, route="/health", status="200") == 1
    assert request_count(samples, route="<unmatched>", status="404") == 1


def test_latency_histogram_by_route(database_urls):
    app = fresh_booking_app(database_urls)
    app.test_client().get("/health")
    samples = scrape(app)["frontdesk_http_request_duration_seconds"]
    count = [s for s in samples if s.name.endswith("_count") and s.labels["route"] == "/health"]
    assert count[0].value == 1
    buckets = [s for s in samples if s.name.endswith("_bucket") and s.labels["route"] == "/health"]
    assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == 1


def test_each_app_has_its_own_registry(apps):
    before = request_count(
        scrape(apps["consent"]).get("frontdesk_http_requests", []), route="/health"
    )
    apps["booking"].test_client().get("/health")
    after = request_count(
        scrape(apps["consent"]).get("frontdesk_http_requests", []), route="/health"
    )
    assert after == before


def test_gauges_are_computed_from_the_database_on_scrape(database_urls):
    app = fresh_booking_app(database_urls)
    calls = []

    def token_count(session) -> int:
        calls.append(1)
        return session.scalar(sa.text("SELECT count(*) FROM api_tokens"))

    register_gauge(app, "frontdesk_probe_tokens", "Tokens stored.", token_count)
    register_gauge(
        app,
        "frontdesk_probe_by_status",
        "Probe values by status.",
        lambda session: {"queued": 3, "sent": 7},
        labels=("status",),
    )
    register_gauge(
        app,
        "frontdesk_probe_two_labels",
        "Probe values by channel and status.",
        lambda session: {("email", "sent"): 2},
        labels=("channel", "status"),
    )
    metrics = scrape(app)
    assert calls == [1]
    assert metrics["frontdesk_probe_tokens"][0].value == 0
    by_status = {s.labels["status"]: s.value for s in metrics["frontdesk_probe_by_status"]}
    assert by_status == {"queued": 3, "sent": 7}
    two = metrics["frontdesk_probe_two_labels"][0]
    assert two.labels == {"channel": "email", "status": "sent"} and two.value == 2


def test_a_failing_gauge_is_left_out_and_the_rest_still_served(database_urls):
    app = fresh_booking_app(database_urls)

    def broken(session):
        return session.scalar(sa.text("SELECT count(*) FROM no_such_table"))

    register_gauge(app, "frontdesk_probe_broken", "Always fails.", broken)
    register_gauge(app, "frontdesk_probe_ok", "Always 5.", lambda session: 5)
    metrics = scrape(app)
    assert "frontdesk_probe_broken" not in metrics
    assert metrics["frontdesk_probe_ok"][0].value == 5


def test_a_metrics_folder_that_does_not_exist_yet_is_made(database_urls, tmp_path, monkeypatch):
    # `frontdesk worker` builds its app under the same environment as gunicorn's workers.
    folder = tmp_path / "not-yet" / "metrics"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    app = fresh_booking_app(database_urls)
    assert folder.is_dir()
    assert app.test_client().get("/metrics").status_code == 200


def test_notify_and_consent_publish_their_domain_gauges(apps, make_token):
    notify = apps["notify"].test_client().get("/metrics").get_data(as_text=True)
    assert "frontdesk_notify_outbox_due" in notify
    assert "# HELP frontdesk_notify_messages" in notify
    consent = apps["consent"].test_client().get("/metrics").get_data(as_text=True)
    assert "frontdesk_consent_outbox_pending" in consent
    assert "# HELP frontdesk_consent_requests" in consent


def test_booking_publishes_appointments_and_outbox_gauges(apps):
    text = apps["booking"].test_client().get("/metrics").get_data(as_text=True)
    assert "# HELP frontdesk_booking_appointments" in text
    assert "# HELP frontdesk_booking_outbox" in text
