"""Who makes a change, as operations record it: the same type in every service."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who makes a change: the client (by link), a staff member, an admin, a service, a job."""

    kind: str
    staff_id: int | None = None

    @property
    def label(self) -> str:
        """How the actor appears in a history or an audit trail."""
        return f"staff:{self.staff_id}" if self.kind == "staff" else self.kind
