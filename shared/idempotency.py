"""Idempotency keys, Stripe-style: the same key with the same body replays the first result;
the same key with a different body is a 409. Each service stores the key and fingerprint on
the row the request created (a message, an appointment), under a unique constraint.

A key belongs to its caller, as at Stripe (keys are per account): `caller_key` scopes it to
the API token, or for anonymous calls to the client's address, so another caller replaying
someone's key starts a request of their own and never receives the first one's answer (a
booking's manage token, a consent request)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import request

from shared.auth import current_principal
from shared.errors import IdempotencyKeyReused, ValidationFailed
from shared.rate_limits import client_address

MAX_KEY_LENGTH = 200


def fingerprint(payload: Any) -> str:
    """SHA-256 of a canonical JSON form of the request payload."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def key_from_request() -> str | None:
    """The request's Idempotency-Key header, checked for length and characters."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed(
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable characters.",
            errors={"Idempotency-Key": ["Invalid header value."]},
        )
    return key


def check_replay(stored_fingerprint: str, new_fingerprint: str) -> None:
    """Raise 409 when a key comes back with a different body."""
    if stored_fingerprint != new_fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request body."
        )


def _caller() -> str:
    """Who is calling: every service token is the suite itself (one caller, so a rotated token
    still replays its outbox's keys), another token is itself, anyone else their address as
    the rate limits count it (an IPv6 client's /64: its temporary addresses change)."""
    principal = current_principal()
    if principal is None:
        return f"address:{client_address()}"
    if principal.role == "service":
        return "service"
    return f"token:{principal.token_id}"


def scoped(key: str) -> str:
    """The key as stored: a digest of the caller and their key (no address kept in the row)."""
    return hashlib.sha256(f"{_caller()}\n{key}".encode()).hexdigest()


def caller_key() -> str | None:
    """The request's Idempotency-Key, scoped to its caller (see `scoped`)."""
    key = key_from_request()
    return scoped(key) if key is not None else None
