"""The console's HTTP surface besides its pages: `/health`, and no API of its own.

The console is OpenAPI-free pages: every action a page takes is a call to booking's,
consent's or notify's documented API with the signed-in person's token.
"""

from __future__ import annotations

from flask import Flask

from shared.app import register_health


def register(app: Flask) -> None:
    """GET /health (200 when the console's database answers)."""
    register_health(app)
