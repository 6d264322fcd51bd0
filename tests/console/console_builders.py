"""Plain helpers of the console tests (imported by name: `conftest` is ambiguous in a run
of several test folders)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def local(day: date, hour: int, zone: str = "America/Toronto") -> datetime:
    """A wall-clock hour on a day in a zone, as UTC."""
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def link_path(url: str) -> str:
    """The console-relative path of an emailed link (the app is tested without its mount)."""
    return re.sub(r"^https?://[^/]+/console", "", url)


def csrf_of(html: str) -> str:
    """The CSRF token of a page's form."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
