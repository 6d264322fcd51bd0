"""Demo data for a newcomer (PRODUCT.md): Maple Community Services, created once on an empty suite.

The consent form is created first, in the consent service, and its id is given to booking so
the Settlement intake requires it — the same wiring an admin does through the two APIs.
"""

from __future__ import annotations

from typing import Any

from services.booking import demo as booking_demo
from services.consent import demo as consent_demo
from shared.db import get_db


def load_demo(apps: dict[str, Any]) -> dict[str, Any]:
    """Create the demo organization if booking has no staff yet; return what was created."""
    with apps["consent"].app_context(), get_db(apps["consent"]).transaction() as session:
        forms = consent_demo.load_demo(session=session)
    with apps["booking"].app_context(), get_db(apps["booking"]).transaction() as session:
        created = booking_demo.load_demo(session=session, consent_template_ids=forms)
    return {"forms": forms, **created}


def describe(public_url: str, created: dict[str, Any]) -> list[str]:
    """Lines that tell a newcomer where to start."""
    lines = ["", "Demo organization: Maple Community Services"]
    for slug in created.get("services", {}):
        lines.append(f"  Book {slug}: {public_url}/booking/{slug}")
    if created.get("forms"):
        lines.append(f"  Consent forms (template ids): {created['forms']}")
    return lines
