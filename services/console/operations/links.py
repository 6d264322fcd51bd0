"""Sign-in links: single use, 15 minutes (an invitation: 7 days), stored by hash only."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.console import outbox
from services.console.errors import LinkExpired
from services.console.models import SignInLink
from shared.auth import hash_token, new_token
from shared.db import utcnow

VALIDITY = {"sign_in": timedelta(minutes=15), "invitation": timedelta(days=7)}
TEMPLATES = {"sign_in": "console_sign_in", "invitation": "console_invitation"}


def issue_link(
    *, session: Session, staff_id: int, purpose: str = "sign_in", now: datetime | None = None
) -> str:
    """Store a new link's hash and return its token (it goes into one email, nowhere else)."""
    now = now or utcnow()
    token = new_token("fdl")
    session.add(
        SignInLink(
            token_hash=hash_token(token),
            staff_id=staff_id,
            purpose=purpose,
            created_at=now,
            expires_at=now + VALIDITY[purpose],
        )
    )
    session.flush()
    return token


def link_message(
    *,
    token: str,
    to: str,
    language: str,
    purpose: str,
    public_url: str,
    org: Mapping[str, Any],
) -> dict[str, Any]:
    """The notify message that carries a link (the link, and the organization's `org_*`
    variables for the footer every email has)."""
    url = f"{public_url.rstrip('/')}/console/sign-in/{token}"
    return {
        "channel": "email",
        "to": to,
        "template": TEMPLATES[purpose],
        "locale": language,
        "data": {"sign_in_url": url, **org},
    }


def send_link(
    *,
    session: Session,
    staff: Mapping[str, Any],
    purpose: str,
    language: str,
    public_url: str,
    org: Mapping[str, Any],
) -> None:
    """Issue a link for a staff member and queue its email (the outbox sends it)."""
    token = issue_link(session=session, staff_id=staff["id"], purpose=purpose)
    message = link_message(
        token=token,
        to=staff["email"],
        language=language,
        purpose=purpose,
        public_url=public_url,
        org=org,
    )
    outbox.enqueue_email(session=session, message=message)


def live_link(*, session: Session, token: str, now: datetime | None = None) -> SignInLink:
    """The unused, unexpired link of `token`; LinkExpired (410) otherwise."""
    now = now or utcnow()
    link = session.scalar(sa.select(SignInLink).where(SignInLink.token_hash == hash_token(token)))
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise LinkExpired("This sign-in link has expired or was used. Ask for a new one.")
    return link


def use_link(*, session: Session, token: str, now: datetime | None = None) -> SignInLink:
    """Spend a link: one UPDATE that only an unused, unexpired link passes, so two clicks at
    once sign in once."""
    now = now or utcnow()
    link = live_link(session=session, token=token, now=now)
    spent = session.execute(
        sa.update(SignInLink)
        .where(SignInLink.id == link.id, SignInLink.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:
        raise LinkExpired("This sign-in link has expired or was used. Ask for a new one.")
    session.refresh(link)
    return link
