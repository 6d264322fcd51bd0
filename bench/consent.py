"""Consent: request -> signed PDF records per second, against bare WeasyPrint + pyHanko.

The consent side goes through the API (in-process WSGI) on PostgreSQL: POST /requests with a
service token, GET /sign/{token} (the page's view, audited), POST /sign/{token} (answers
checked, events chained, evidence built, HTML rendered to tagged PDF/A-3b with the evidence
attached, signed with PAdES by the instance CA, stored, outbox rows written, committed).
The baseline renders the same record HTML with the same WeasyPrint options and signs it with
the same pyHanko signer: the least work that can produce the same signed file.

`python -m bench.consent [--quick]`
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time

from bench.harness import fresh_pg_database

# Target from issue 11: request -> signed PDF <= 1.2x the bare render + sign time.
TARGET_RATIO = round(1 / 1.2, 3)
SIGNATURE = {
    "typed_name": "Ana López",
    "disclosure_accepted": True,
    "checkboxes": {"read": True, "recording": True, "sharing": True},  # the demo form's boxes
    "timezone": "America/Toronto",
}


def _app(instance_dir: str):
    from frontdesk import migrations
    from services.consent.app import create_app
    from shared import auth, db

    url = fresh_pg_database("frontdesk_bench_consent")
    migrations.upgrade("consent", url)
    app = create_app(
        {
            "DATABASE_URL": url,
            "INSTANCE_DIR": instance_dir,
            "PUBLIC_URL": "http://bench.invalid",
            "SECRET_KEY": "bench",
            "LOG_LEVEL": "WARNING",
            # One address signs every record here: the public limits would refuse most.
            "RATELIMIT_ENABLED": False,
        }
    )
    with db.get_db(app).transaction() as session:
        token = auth.create_token(
            session=session, model=app.extensions["frontdesk_token_model"], role="service"
        )
    return app, token


def _template(app) -> int:
    from services.consent import demo
    from shared import db

    with db.get_db(app).transaction() as session:
        return demo.load_demo(session=session)["recording"]


def _one_record(client, headers: dict, template_id: int, n: int) -> bytes:
    created = client.post(
        "/api/v1/requests",
        json={
            "template_id": template_id,
            "client_name": f"Client {n}",
            "client_email": f"client{n}@example.org",
            "locale": "fr",
            "timezone": "America/Toronto",
        },
        headers=headers,
    ).get_json()
    assert "signing_url" in created, created
    token = created["signing_url"].rsplit("/", 1)[1]
    assert client.get(f"/api/v1/sign/{token}").status_code == 200
    signed = client.post(f"/api/v1/sign/{token}", json=SIGNATURE)
    assert signed.status_code == 200, signed.get_json()
    return client.get(f"/api/v1/requests/{created['id']}/record.pdf", headers=headers).data


def _sample_html(app) -> str:
    """The HTML of the last record issued (the same content the baseline renders)."""
    import sqlalchemy as sa

    from services.consent.models import ConsentRecord
    from services.consent.operations import records
    from shared import db
    from shared.organization import OrgProfile

    with db.get_db(app).transaction() as session:
        record = session.scalar(sa.select(ConsentRecord).order_by(ConsentRecord.id.desc()).limit(1))
        return records.record_html(
            record, record.request, record.evidence_sha256, OrgProfile.from_settings(app.config)
        )


def _rate(action, count: int) -> float:
    started = time.perf_counter()
    for n in range(count):
        action(n)
    return count / (time.perf_counter() - started)


def run(quick: bool) -> list[dict]:
    """Rows: records/s through the service, against bare render + sign of the same HTML."""
    from services.consent.operations import records, signing

    count = 6 if quick else 30
    with tempfile.TemporaryDirectory(prefix="bench-consent-") as instance:
        app, service_token = _app(instance)
        template_id = _template(app)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {service_token}"}
        settings = records.RecordSettings.from_config(app.config)
        org = settings.signer()

        clients = itertools.count()  # a new client every time: no reuse of a signed consent

        def through_service(_n: int) -> None:
            _one_record(client, headers, template_id, next(clients))

        through_service(0)  # warm up fonts, templates and the database
        html = _sample_html(app)

        def bare(_n: int) -> None:
            pdf = records.render_pdf(html)
            signing.sign_record(
                pdf, org=org, org_name=settings.org_name, tsa_url=None, reason="bench"
            )

        bare(0)
        # Interleave the halves so drift on a noisy machine hits both sides alike.
        service_rates, bare_rates = [], []
        for _round in range(2):
            service_rates.append(_rate(through_service, count // 2))
            bare_rates.append(_rate(bare, count // 2))
        service_rate = sum(service_rates) / len(service_rates)
        bare_rate = sum(bare_rates) / len(bare_rates)
    return [
        {
            "name": f"consent: request -> signed PDF record ({count} records, API + PostgreSQL, PDF/A-3b + PAdES B-B)",
            "value": round(service_rate, 2),
            "unit": "records/s",
            "baseline": round(bare_rate, 2),
            "ratio": round(service_rate / bare_rate, 3),
            "target": f">= {TARGET_RATIO}x bare WeasyPrint + pyHanko (<= 1.2x its time)",
        }
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.consent")
    parser.add_argument("--quick", action="store_true")
    arguments = parser.parse_args()
    for result in run(quick=arguments.quick):
        print(result, file=sys.stdout)
