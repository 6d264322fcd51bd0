"""Prometheus metrics per service: `GET /metrics` with request counts, latency and gauges.

Requests are labelled by the URL rule that matched (`/api/v1/feeds/<token>.ics`), never by the
raw path, so tokens never reach the metrics and the label set stays small. Services add gauges
computed on scrape from their database with `register_gauge` (outbox depth, messages by status).

Each app has its own CollectorRegistry, so the three apps of the all-in-one suite do not clash.
Under gunicorn with several worker processes set PROMETHEUS_MULTIPROC_DIR (deploy/gunicorn.conf.py
does): request counters and histograms are then kept in files in that folder and summed over
every worker at scrape, whichever worker answers. Gauges read the database, so every worker
reports the same value. The folder must belong to one service (one gunicorn master).
`/metrics` is internal: nginx answers 404 for it, and the app itself answers it only to callers
on this host or with an admin or service token.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.orm import Session

from shared import auth, db

log = logging.getLogger("frontdesk.metrics")

# What a gauge function returns: one number, or numbers by label value(s).
GaugeValue = float | Mapping[str | tuple[str, ...], float]


@dataclass(frozen=True)
class Gauge:
    """A gauge computed on scrape: fn(session) gives a number or numbers by label values."""

    name: str
    help: str
    fn: Callable[[Session], GaugeValue]
    labels: tuple[str, ...] = ()


class DatabaseGauges:
    """Collector that runs every registered gauge function in one read-only session."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.gauges: list[Gauge] = []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if not self.gauges:
            return
        database = db.get_db(self.app)
        with database.sessionmaker() as session:
            for gauge in self.gauges:
                try:
                    value = gauge.fn(session)
                except Exception:
                    # One broken gauge must not hide the others (or the request metrics).
                    log.exception("gauge failed", extra={"gauge": gauge.name})
                    session.rollback()
                    continue
                yield _family(gauge, value)
            session.rollback()


def _family(gauge: Gauge, value: GaugeValue) -> GaugeMetricFamily:
    """One gauge's values as a metric family."""
    if not gauge.labels:
        return GaugeMetricFamily(gauge.name, gauge.help, value=float(value))
    family = GaugeMetricFamily(gauge.name, gauge.help, labels=gauge.labels)
    for key, number in value.items():
        family.add_metric([key] if isinstance(key, str) else list(key), float(number))
    return family


def init_app(app: Flask) -> None:
    """Count and time every request by URL rule, and serve `GET /metrics`."""
    registry = CollectorRegistry()
    multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if multiproc_dir:
        # Values live in files shared by the gunicorn workers; the collector sums them.
        os.makedirs(multiproc_dir, exist_ok=True)
        multiprocess.MultiProcessCollector(registry, path=multiproc_dir)
    metric_registry = None if multiproc_dir else registry
    requests = Counter(
        "frontdesk_http_requests_total",
        "HTTP requests by URL rule, method and status.",
        ("route", "method", "status"),
        registry=metric_registry,
    )
    latency = Histogram(
        "frontdesk_http_request_duration_seconds",
        "Time spent answering HTTP requests, by URL rule.",
        ("route", "method"),
        registry=metric_registry,
    )
    gauges = DatabaseGauges(app)
    registry.register(gauges)
    app.extensions["frontdesk_metrics"] = gauges

    # The labelled children by (route, method, status): labels() checks and locks every time.
    children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    @app.after_request
    def _observe(response):
        started = g.get("request_started")  # set first thing by shared.logs
        if started is not None:
            route = request.url_rule.rule if request.url_rule else "<unmatched>"
            key = (route, request.method, response.status_code)
            child = children.get(key)
            if child is None:
                child = children[key] = (
                    requests.labels(route, request.method, str(response.status_code)),
                    latency.labels(route, request.method),
                )
            child[0].inc()
            child[1].observe(time.perf_counter() - started)
        return response

    @app.get("/metrics")
    def metrics():
        auth.require_internal()  # the all-in-one may be bound beyond loopback, without nginx
        # On SQLite the token lookup's transaction holds the write lock that the gauges' own
        # session would wait for: end it (it wrote nothing).
        db.session().rollback()
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def register_gauge(
    app: Flask,
    name: str,
    help: str,
    fn: Callable[[Session], GaugeValue],
    labels: tuple[str, ...] = (),
) -> None:
    """Add a gauge computed on each scrape by `fn(session)` from the service's database.

    Without `labels`, fn returns a number; with labels it returns {label value(s): number},
    e.g. `register_gauge(app, "frontdesk_messages", "Messages by status.", count_by_status,
    labels=("status",))` where count_by_status returns {"queued": 3, "sent": 120}.
    """
    app.extensions["frontdesk_metrics"].gauges.append(Gauge(name, help, fn, labels))
