"""Knowing, without asking the database, that nothing changed: LISTEN/NOTIFY on PostgreSQL.

Hot read paths (a feed's 304, a repeated slot search) answer from one small query of
versions. With thousands of calendar apps polling, even that query is most of the cost, and
its answer rarely changes. So a service's migrations add a trigger that NOTIFYs a channel at
the commit of any write to the tables those answers depend on, and each process LISTENs on a
connection of its own (a daemon thread, started on first use and again after a fork).

`ChangeWatcher.generation()` counts what the process has heard: every notification, every
commit this process made itself, every (re)connection. A `Memo` entry is stored with the
generation read *before* its query and used only while the generation is the same, so an
entry can never outlive a change that committed after its query began.

A notification names the table written (its payload; a trigger per table), and so does a
commit of this process (from its statements), so an answer that depends on a few tables can
be kept by the generation of those tables alone (`generation(tables)`): a service with its
staff outlives the bookings, which write other tables. A change whose tables are unknown (an
empty payload, a statement not understood, a reconnection) moves every table's generation.
While the listener is not connected (SQLite, behind a pooler in transaction mode, before it
connects, after it drops) `generation()` is None and every lookup goes to the database as
before.

What another host committed is heard as soon as PostgreSQL delivers the notification
(milliseconds); what this process committed is known at once (a commit hook).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

import sqlalchemy as sa

log = logging.getLogger(__name__)
T = TypeVar("T")
APPLICATION_NAME = "frontdesk-listener"  # in pg_stat_activity
KEEPALIVE = 10.0  # seconds between the listener's liveness checks when nothing is heard
_WRITES = ("insert", "update", "delete", "truncate", "merge")
_MARKER = "catch-up:"  # the payload prefix of catch_up's markers (no table has a colon)


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as psycopg connects with it (no +driver)."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class ChangeWatcher:
    """One LISTEN connection per process and database channel (see the module doc)."""

    def __init__(self, url: str, channel: str) -> None:
        self.conninfo = libpq_url(url)
        self.channel = channel
        self._generation = 0
        self._epoch = 0  # moves when what changed is unknown: every table's generation moves
        self._tables: dict[str, int] = {}  # changes heard, by table
        self._listening = False
        self._pid: int | None = None
        self._stopped = False
        self._lock = threading.Lock()
        self._heard = threading.Event()
        self._awaited: dict[str, threading.Event] = {}  # catch_up's markers, by payload

    def generation(self, tables: tuple[str, ...] | None = None) -> Hashable | None:
        """What this process has heard so far (of changes to `tables` only, when given), or
        None while it is not listening."""
        if self._pid != os.getpid():
            self._start()
        if not self._listening:
            return None
        if tables is None:
            return self._generation
        with self._lock:
            return (self._epoch, *(self._tables.get(table, 0) for table in tables))

    def touch(self, tables: Iterable[str] | None = None) -> None:
        """Something changed (in `tables`, or anywhere): entries stored until now that depend
        on it are no longer used."""
        with self._lock:
            self._generation += 1
            if tables is None:
                self._epoch += 1
            else:
                for table in tables:
                    self._tables[table] = self._tables.get(table, 0) + 1

    def _forget(self) -> None:
        """What changed meanwhile is unknown (called under the lock)."""
        self._generation += 1
        self._epoch += 1

    def wait_listening(self, timeout: float = 5.0) -> bool:
        """Start the listener and wait until it listens (tests, benchmarks)."""
        self.generation()
        deadline = time.monotonic() + timeout
        while not self._listening and time.monotonic() < deadline:
            time.sleep(0.01)
        return self._listening

    def catch_up(self, timeout: float = 5.0) -> bool:
        """Wait until every notification committed before this call has been heard (tests:
        a process's own commit is counted at once and again when its NOTIFY arrives).

        Sends a marker on the channel from a connection of its own and waits for it: PostgreSQL
        delivers notifications in commit order, so everything committed earlier came first.
        """
        import psycopg

        if not self.wait_listening(timeout):
            return False
        payload = f"{_MARKER}{os.getpid()}:{time.monotonic_ns()}"
        marker = self._awaited[payload] = threading.Event()
        with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as conn:
            conn.execute("SELECT pg_notify(%s, %s)", (self.channel, payload))
        return marker.wait(timeout)

    def stop(self) -> None:
        """Stop listening for good (before the database is dropped: benchmarks, tests); a
        later watch() of the same database makes a new watcher."""
        self._stopped = True
        with self._lock:
            self._listening = False
            self._forget()
        with _WATCHERS_LOCK:
            for key, watcher in list(_WATCHERS.items()):
                if watcher is self:
                    del _WATCHERS[key]

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid() or self._stopped:
                return
            # A forked child inherits the parent's state but not its thread: start afresh.
            self._pid, self._listening = os.getpid(), False
            self._forget()
        threading.Thread(target=self._listen, name=f"listen-{self.channel}", daemon=True).start()

    def _listen(self) -> None:
        import psycopg

        pid, delay = os.getpid(), 0.5
        while self._pid == pid and not self._stopped:
            try:
                with psycopg.connect(
                    self.conninfo,
                    autocommit=True,
                    connect_timeout=5,
                    application_name=APPLICATION_NAME,
                ) as conn:
                    conn.execute(f'LISTEN "{self.channel}"')
                    with self._lock:
                        self._forget()  # whatever committed before LISTEN is unheard
                        self._listening = True
                    delay = 0.5
                    while not self._stopped:
                        for notify in conn.notifies(timeout=KEEPALIVE):
                            if notify.payload.startswith(_MARKER):  # catch_up's, no change
                                marker = self._awaited.pop(notify.payload, None)
                                if marker is not None:
                                    marker.set()
                            elif notify.payload:
                                self.touch((notify.payload,))
                            else:
                                self.touch()
                        conn.execute("SELECT 1")  # a server gone quiet shows up here
            except Exception as exc:  # any failure: stop trusting entries, reconnect later
                if self._stopped:
                    return
                log.warning(
                    "change listener on %s lost (%s); retrying in %.1fs",
                    self.channel,
                    type(exc).__name__,
                    delay,
                )
            finally:
                with self._lock:
                    self._listening = False
                    self._forget()
            time.sleep(delay)
            delay = min(delay * 2, 30.0)


_WATCHERS: dict[tuple[str, str], ChangeWatcher] = {}
_WATCHERS_LOCK = threading.Lock()


def watch(engine: sa.Engine, channel: str, *, enabled: bool = True) -> ChangeWatcher | None:
    """The process's watcher of `channel` on the engine's PostgreSQL database (None on SQLite
    or when disabled); commits this engine makes count as changes at once."""
    if not enabled or engine.dialect.name != "postgresql":
        return None
    url = engine.url.render_as_string(hide_password=False)
    with _WATCHERS_LOCK:
        watcher = _WATCHERS.get((url, channel))
        if watcher is None:
            watcher = _WATCHERS[(url, channel)] = ChangeWatcher(url, channel)
    watchers = _ENGINE_WATCHERS.get(engine)
    if watchers is None:
        watchers = _ENGINE_WATCHERS[engine] = []
        _hook_commits(engine, watchers)
    if watcher not in watchers:
        watchers.append(watcher)
    return watcher


# By engine, weakly: an engine's hooks go with it (an id could be reused by a new one).
_ENGINE_WATCHERS: weakref.WeakKeyDictionary[sa.Engine, list[ChangeWatcher]] = (
    weakref.WeakKeyDictionary()
)
_WROTE, _COMMITTED = "frontdesk_changes_wrote", "frontdesk_changes_committed"


def _hook_commits(engine: sa.Engine, watchers: list[ChangeWatcher]) -> None:
    """Touch the watchers when a connection that wrote and committed goes back to the pool:
    after the commit, so a read that follows it in this process never gets an older entry."""

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _note_write(connection, _cursor, statement: str, *_args) -> None:
        if statement.lstrip()[:8].lower().startswith(_WRITES):
            connection.info.setdefault(_WROTE, set()).add(written_table(statement))

    @sa.event.listens_for(engine, "commit")
    def _note_commit(connection) -> None:
        if connection.invalidated:
            return
        wrote = connection.info.pop(_WROTE, None)
        if wrote:
            connection.info.setdefault(_COMMITTED, set()).update(wrote)

    @sa.event.listens_for(engine, "rollback")
    def _forget_write(connection) -> None:
        # A connection the database dropped has no info to reach (asking raises
        # PendingRollbackError in place of the real error, a 500 instead of the 503); its
        # pool record clears the info when it reconnects.
        if not connection.invalidated:
            connection.info.pop(_WROTE, None)

    @sa.event.listens_for(engine, "checkin")
    def _touch(_dbapi_connection, record) -> None:
        committed = record.info.pop(_COMMITTED, None) if record is not None else None
        if committed:
            tables = None if None in committed else committed
            for watcher in watchers:
                watcher.touch(tables)


_WRITTEN_TABLE = re.compile(
    r"\s*(?:insert\s+into|update|delete\s+from|truncate(?:\s+table)?|merge\s+into)\s+"
    r'(?:only\s+)?"?(\w+)"?(?=[\s(;]|$)',
    re.IGNORECASE,
)


def written_table(statement: str) -> str | None:
    """The table a write statement writes, as its trigger names it (None: not understood,
    or schema-qualified: taken as a change to every table)."""
    match = _WRITTEN_TABLE.match(statement)
    if match is None or (statement.lstrip()[:8].lower() == "truncate" and "," in statement):
        return None  # TRUNCATE of several tables
    return match.group(1).lower()


class Memo:
    """Answers of small queries kept while the watcher has heard of no change (bounded LRU)."""

    def __init__(self, watcher: ChangeWatcher | None, size: int = 2048) -> None:
        self.watcher, self.size = watcher, size
        self._entries: OrderedDict[Hashable, tuple[Hashable, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_load(
        self, key: Hashable, load: Callable[[], T], *, tables: tuple[str, ...] | None = None
    ) -> T:
        """The remembered answer for `key`, or `load()`'s (remembered when it may be): kept
        while no change is heard, or no change to `tables` when the answer reads only those."""
        if self.watcher is None or self.size <= 0:
            return load()
        generation = self.watcher.generation(tables)
        if generation is not None:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None and entry[0] == generation:
                    self._entries.move_to_end(key)
                    return entry[1]
        value = load()  # read after the generation: an entry is never older than its stamp
        if generation is not None:
            with self._lock:
                self._entries[key] = (generation, value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
