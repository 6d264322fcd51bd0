"""Idempotency keys, Stripe-style: the same key with the same body replays the first result;
the same key with a different body is a 409. Each service stores the key and fingerprint on
the row the request created (a message, an appointment), under a unique constraint."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import request

from shared.errors import Conflict, ValidationFailed

MAX_KEY_LENGTH = 200


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    title = "Idempotency key already used with another request"


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
