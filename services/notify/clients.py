"""Notify's clients of other services: none, notify calls no one (booking and consent call it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Clients:
    """No other service is called from notify; its workers get this empty set."""
