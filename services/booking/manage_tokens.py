"""Clients' manage tokens: derived from the appointment's UID with the secret key, stored hashed.

Deriving (instead of storing a random token) lets later emails carry the manage link, while the
database only keeps the SHA-256: a copy of the database alone cannot manage appointments.
"""

from __future__ import annotations

import hashlib
import hmac


def manage_token_for(uid: str, secret: str) -> str:
    """The client's manage token of an appointment."""
    digest = hmac.new(secret.encode(), f"manage:{uid}".encode(), hashlib.sha256).hexdigest()
    return "fdm_" + digest[:48]


def hash_manage_token(token: str) -> str:
    """What is stored and looked up for a manage token."""
    return hashlib.sha256(token.encode()).hexdigest()
