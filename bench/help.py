"""The help center's search at 1,000 FAQ entries (issue 23): p50 under load vs `/health`.

Booking under gunicorn (2 sync workers) on PostgreSQL with 1,000 FAQ entries, 250 in each of
en/fr/es/ar, searched through the public API (`GET /api/v1/faq?language=..&q=..`: the
language's tsvector index) and through the help page (`/help?q=..`: the same search and the
services' resources, rendered), each against the same app's `/health` (one SELECT 1 through the
same app and pool), run in turns.

`python -m bench.help [--quick]`
"""

from __future__ import annotations

import argparse
import json
import sys
from urllib.parse import quote

from bench.harness import fresh_pg_database, gunicorn, in_turns, row, wrk

ENTRIES = 1000
# Per language: topics (one of them the searched word) and a sentence to put them in.
TOPICS = {
    "en": (
        ["passport", "housing", "tax", "school", "work", "health"],
        "How do I get help with {} #{}?",
        "Bring what you have about {}; we will go through it together (note {}).",
    ),
    "fr": (
        ["annuler", "logement", "impôts", "école", "travail", "santé"],
        "Comment faire pour {} n° {} ?",
        "Apportez ce que vous avez sur : {} ; nous verrons ensemble (note {}).",
    ),
    "es": (
        ["cancelar", "vivienda", "impuestos", "escuela", "trabajo", "salud"],
        "¿Cómo obtengo ayuda con {} n.º {}?",
        "Traiga lo que tenga sobre {}; lo veremos juntos (nota {}).",
    ),
    "ar": (
        ["جواز", "السكن", "الضرائب", "المدرسة", "العمل", "الصحة"],
        "كيف أحصل على مساعدة بشأن {} رقم {}؟",
        "أحضر ما لديك عن {} وسنراجعه معًا (ملاحظة {}).",
    ),
}
SEARCHES = {"en": "passport", "fr": "annuler", "es": "cancelar", "ar": "جواز"}
TARGET = "<= 2x /health p50 (issue 23)"


def _seed(url: str) -> None:
    """Migrate, then add ENTRIES FAQ entries spread over the four languages and a service."""
    from frontdesk import migrations
    from services.booking.app import create_app
    from services.booking.operations import catalog, faq
    from shared import db

    migrations.upgrade("booking", url)
    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING", "SECRET_KEY": "bench"})
    languages = list(TOPICS)
    with db.get_db(app).transaction() as session:
        for number in range(ENTRIES):
            language = languages[number % len(languages)]
            topics, question, answer = TOPICS[language]
            topic = topics[(number // len(languages)) % len(topics)]
            faq.create_entry(
                session=session,
                language=language,
                question=question.format(topic, number),
                answer=answer.format(topic, number),
                position=number,
            )
        staff = catalog.create_staff(
            session=session, name="Amira", email="amira@bench.invalid", time_zone="America/Toronto"
        )
        catalog.create_service(
            session=session,
            staff_ids=[staff.id],
            name="Settlement intake",
            slug="bench-intake",
            duration_minutes=45,
            resources=[{"title": "Bring your documents", "url": None, "text": "Passport"}],
        )
    db.get_db(app).engine.dispose()


def run(quick: bool = False) -> list[dict]:
    """Help search (API and page) p50 under load against the same app's /health."""
    seconds = 1 if quick else 5
    url = fresh_pg_database("frontdesk_bench_help")
    _seed(url)
    env = {"FRONTDESK_DATABASE_URL": url, "FRONTDESK_SECRET_KEY": "bench"}
    api = f"/api/v1/faq?language=en&q={SEARCHES['en']}"
    pages = {lang: f"/help?lang={lang}&q={quote(q)}" for lang, q in SEARCHES.items()}
    html = {"Accept": "text/html"}
    with gunicorn("bench.baselines:create_booking_app()", env=env) as booking:
        for path in (api, *pages.values()):  # every search finds its answers (and warms up)
            load = wrk(booking.url + path, seconds=1, headers=html)
            if load.errors:
                raise RuntimeError(f"{path}: {load.errors} failed requests")
        measured = in_turns(
            {
                "health": lambda: wrk(booking.url + "/health", seconds=seconds),
                "api": lambda: wrk(booking.url + api, seconds=seconds),
                **{
                    lang: (lambda p=path: wrk(booking.url + p, seconds=seconds, headers=html))
                    for lang, path in pages.items()
                },
            },
            rounds=1 if quick else 3,
        )
    health = measured["health"].p50_ms
    rows = [
        row(
            f"help search: GET /api/v1/faq?q=passport (en) at {ENTRIES:,} FAQ entries, "
            "PostgreSQL tsvector, p50 under load (wrk -c16) vs the same app's /health",
            measured["api"].p50_ms,
            "ms",
            health,
            TARGET,
            higher_is_better=False,
        )
    ]
    for lang, q in SEARCHES.items():
        rows.append(
            row(
                f"help search: the help page /help?q={q} ({lang}), p50 under load vs /health",
                measured[lang].p50_ms,
                "ms",
                health,
                "reference: the whole page (the search, the services' resources, the "
                "template), not the search the target is set on",
                higher_is_better=False,
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.help")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(run(quick=args.quick), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
