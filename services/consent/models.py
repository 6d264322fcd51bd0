"""Consent's tables. The service owns them; no other service reads them."""

from __future__ import annotations

from shared.auth import make_token_model
from shared.db import make_base

Base = make_base()

ApiToken = make_token_model(Base)
