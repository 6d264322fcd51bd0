"""consent's REST API under /api/v1: thin resources that parse, check access and call operations."""

from __future__ import annotations

from flask_smorest import Blueprint

from shared.api import whoami_blueprint


def blueprints() -> list[Blueprint]:
    """Every API blueprint of the service, in registration order."""
    return [whoami_blueprint()]
