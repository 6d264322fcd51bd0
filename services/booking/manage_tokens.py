"""Clients' manage tokens: derived from the appointment's UID with the secret key, stored hashed.

Deriving (instead of storing a random token) lets later emails carry the manage link, while the
database only keeps the SHA-256: a copy of the database alone cannot manage appointments.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac


def manage_token_for(uid: str, secret: str) -> str:
    """The client's manage token of an appointment."""
    digest = hmac.new(secret.encode(), f"manage:{uid}".encode(), hashlib.sha256).hexdigest()
    return "fdm_" + digest[:48]


def question_token_for(uid: str, secret: str) -> str:
    """The client's token of an 'ask us' thread (derived the same way, with its own purpose)."""
    digest = hmac.new(secret.encode(), f"question:{uid}".encode(), hashlib.sha256).hexdigest()
    return "fdq_" + digest[:48]


def hash_manage_token(token: str) -> str:
    """What is stored and looked up for a manage token."""
    return hashlib.sha256(token.encode()).hexdigest()


def short_manage_token(token: str) -> str:
    """The same 192-bit token in base64url (32 characters instead of 52), for SMS links."""
    return base64.urlsafe_b64encode(bytes.fromhex(token.removeprefix("fdm_"))).decode()


def manage_token_from_short(short: str) -> str | None:
    """The manage token a short one stands for, or None when it is not one."""
    try:
        raw = base64.urlsafe_b64decode(short.encode())
    except (ValueError, binascii.Error):
        return None
    return "fdm_" + raw.hex() if len(raw) == 24 else None
