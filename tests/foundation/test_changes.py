"""shared.changes' bookkeeping, without a database: which table a write names, and what a
change to one table does to the generations of answers that depend on others."""

from __future__ import annotations

import os

import pytest

from shared import changes


@pytest.mark.parametrize(
    ("statement", "table"),
    [
        ('INSERT INTO appointments (uid, "end") VALUES (%(uid)s, %(end)s)', "appointments"),
        ("INSERT INTO feed_versions(staff_id) VALUES (1) ON CONFLICT DO NOTHING", "feed_versions"),
        ("UPDATE staff SET name=%(name)s WHERE staff.id = %(id)s", "staff"),
        ("\n  update  Service_Staff\nSET x = 1", "service_staff"),
        ("DELETE FROM busy_blocks WHERE busy_blocks.staff_id = ?", "busy_blocks"),
        ("DELETE FROM staff", "staff"),
        ("TRUNCATE TABLE feed_versions", "feed_versions"),
        ("truncate services", "services"),
        ('UPDATE ONLY "services" SET active = false', "services"),
        # Not understood: taken as a change to every table.
        ("TRUNCATE services, staff", None),
        ("INSERT INTO public.staff (name) VALUES ('x')", None),
        ("DELETE services", None),
    ],
)
def test_a_write_names_its_table(statement, table):
    assert changes.written_table(statement) == table


def listening_watcher() -> changes.ChangeWatcher:
    """A watcher whose listener is taken as connected (no thread, no database)."""
    watcher = changes.ChangeWatcher("postgresql+psycopg://nobody@127.0.0.1:1/none", "test")
    watcher._pid, watcher._listening = os.getpid(), True
    return watcher


def test_a_change_moves_the_generation_of_its_tables_only():
    watcher = listening_watcher()
    catalog = ("services", "service_staff", "staff")
    kept, everything = watcher.generation(catalog), watcher.generation()
    watcher.touch({"appointments", "feed_versions"})  # what a booking writes
    assert watcher.generation(catalog) == kept
    assert watcher.generation() != everything
    watcher.touch({"staff"})
    assert watcher.generation(catalog) != kept
    kept = watcher.generation(catalog)
    watcher.touch()  # tables unknown: every answer is read again
    assert watcher.generation(catalog) != kept


def test_a_memo_keeps_an_answer_across_changes_to_other_tables():
    watcher = listening_watcher()
    memo = changes.Memo(watcher)
    loads = []

    def load():
        loads.append(1)
        return len(loads)

    def get():
        return memo.get_or_load("service", load, tables=("services", "staff"))

    assert get() == 1
    watcher.touch({"appointments"})
    assert get() == 1
    watcher.touch({"services"})
    assert get() == 2
    assert get() == 2
    watcher._listening = False  # the listener dropped: nothing is kept
    assert get() == 3
    assert get() == 4
