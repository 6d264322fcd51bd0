"""Erasing one client at notify among many messages (PostgreSQL): the content scan's cost.

notify finds messages about a client by their address in subjects, bodies, data and payloads
(no index can serve that), so erasure reads the whole table once. The figure: one erasure
(10 of the client's messages among N others with realistic bodies), against the baseline of
one sequential scan of the same table (`count(*)` over lower(text)).

`python -m bench.privacy [--quick]`
"""

from __future__ import annotations

import argparse
import time
import uuid

import sqlalchemy as sa

from bench.harness import fresh_pg_database
from services.notify import privacy
from services.notify.models import Base, Message
from shared.actors import Actor
from shared.db import Database
from shared.privacy import ClientLookup

EMAIL = "client.to.erase@example.org"
BODY = "Hello {name}, your appointment is confirmed. " * 40


def _fill(database: Database, count: int) -> None:
    rows = [
        {
            "channel": "email",
            "recipient": EMAIL if i % (count // 10) == 0 else f"person{i}@example.net",
            "template": "booking_confirmation",
            "locale": "en",
            "data": {"client_name": f"Person {i}", "service_name": "Tax clinic"},
            "subject": "Your appointment",
            "text": BODY.format(name=f"Person {i}"),
            "html": f"<p>{BODY.format(name=f'Person {i}')}</p>",
            "attachments": [],
            "status": "sent",
            "message_id": f"<{uuid.uuid4().hex}@bench>",
        }
        for i in range(count)
    ]
    with database.transaction() as session:
        for start in range(0, count, 5000):
            session.execute(sa.insert(Message), rows[start : start + 5000])
    with database.engine.connect() as connection:
        connection.execute(sa.text("ANALYZE messages"))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def run(quick: bool) -> list[dict]:
    """One row per table size: erasure time against one sequential scan of the table."""
    rows = []
    for count in (20_000,) if quick else (20_000, 100_000):
        database = Database(fresh_pg_database("bench_privacy"))
        Base.metadata.create_all(database.engine)
        _fill(database, count)
        with database.engine.connect() as connection:
            started = time.perf_counter()
            connection.execute(
                sa.text("SELECT count(*) FROM messages WHERE lower(text) LIKE :v"),
                {"v": f"%{EMAIL}%"},
            )
            baseline = _ms(started)
        with database.transaction() as session:
            started = time.perf_counter()
            result = privacy.erase_client(
                session=session,
                client=ClientLookup(EMAIL),
                actor=Actor("admin"),
                config={"SECRET_KEY": "bench"},
            )
            value = _ms(started)
        assert result["erased"]["messages_to_client"] == 10, result
        database.engine.dispose()
        rows.append(
            {
                "name": f"notify erasure, 10 of {count:,} messages (PostgreSQL)",
                "value": value,
                "unit": "ms",
                "baseline": baseline,
                "ratio": round(value / baseline, 2) if baseline else None,
                "target": "<= 2.5x one scan of the table (a rare admin action)",
            }
        )
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.privacy")
    parser.add_argument("--quick", action="store_true")
    for row in run(parser.parse_args().quick):
        print(
            f"{row['name']}: {row['value']} ms (one table scan: {row['baseline']} ms, "
            f"{row['ratio']}x; target {row['target']})"
        )
