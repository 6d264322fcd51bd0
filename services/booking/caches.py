"""booking's caches, each keyed by everything its values are made from, so none is ever
invalidated: a change makes another key and the old entry ages out.

- slot searches, by the service's slot settings, the range and zone, and each staff member's
  id, zone and availability version (read from the database on every search: services.booking
  .versions moves it in the writer's transaction, so this holds on every host);
- the API's JSON of a search, by the same key, the notice/horizon window and the zone;
- built feeds, by ETag (an ETag always means one body);
- built feed events, by a hash of every column they are built from (services.booking.operations.feeds).

create_app makes one `Caches` per app and hands it to what reads from it. Writes never read
from a cache.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cachetools import Cache, LRUCache, TTLCache

# Entries older than this are dropped all the same: a safety net for writes nothing versions
# (a database restored under a running process).
MAX_AGE = 300.0
FEEDS_BYTES = 32 * 1024 * 1024
EVENTS_BYTES = 16 * 1024 * 1024


class Locked:
    """A cachetools cache shared by a worker's threads: get and put under one lock; a value
    larger than the whole cache (or any value, when its size is 0) is not kept."""

    def __init__(self, cache: Cache) -> None:
        self._cache, self._lock = cache, threading.Lock()

    @property
    def maxsize(self) -> float:
        return self._cache.maxsize

    def get(self, key: Any) -> Any:
        with self._lock:
            return self._cache.get(key)

    def put(self, key: Any, value: Any) -> None:
        # cachetools refuses a value larger than the whole cache with ValueError.
        with self._lock, contextlib.suppress(ValueError):
            self._cache[key] = value

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


def _bytes_lru(max_bytes: int, size: Callable[[Any], int]) -> Locked:
    return Locked(LRUCache(max_bytes, getsizeof=size))


@dataclass(frozen=True)
class Caches:
    """The caches of one booking app (one per worker process)."""

    slots: Locked
    slot_bodies: Locked
    feeds: Locked
    events: Locked

    def clear(self) -> None:
        """Empty them all (tests: ids are reused once the tables are emptied)."""
        for cache in (self.slots, self.slot_bodies, self.feeds, self.events):
            cache.clear()


def make_caches(*, slot_searches: int) -> Caches:
    """The caches of a booking app; `slot_searches` (FRONTDESK_SLOT_CACHE_SIZE) bounds the slot
    searches kept, 0 turning the slot caches off."""
    return Caches(
        slots=Locked(TTLCache(slot_searches, MAX_AGE)),
        # The API's JSON of recent answers (~100 KB for a month of a busy service): fewer.
        slot_bodies=Locked(TTLCache(min(slot_searches, 64), MAX_AGE)),
        feeds=_bytes_lru(FEEDS_BYTES, len),
        events=_bytes_lru(EVENTS_BYTES, lambda built: len(built.chunk)),
    )
