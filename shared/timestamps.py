"""How every service writes a moment in JSON and payloads: ISO 8601 in UTC with a 'Z'."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


@overload
def utc_iso(moment: datetime) -> str: ...
@overload
def utc_iso(moment: None) -> None: ...
def utc_iso(moment: datetime | None) -> str | None:
    """'2026-03-10T14:00:00Z' (None stays None)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
