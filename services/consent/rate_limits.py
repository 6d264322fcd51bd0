"""Consent's public rate limits, in one table: signing links, record downloads and verification.

Counted per client address and per token (hashed; see shared.rate_limits). Callers with an
API token are not counted. Each signing page's POSTs also count against PAGE_POSTS.
Verifying a PDF checks a signature and its chain, so it is the tightest.
"""

from __future__ import annotations

from shared.rate_limits import Rule

TOKEN_READ_PER_ADDRESS = Rule("60/minute;600/hour")
TOKEN_READ_PER_TOKEN = Rule("30/minute;300/hour", per="token")
TOKEN_WRITE_PER_ADDRESS = Rule("10/minute;60/hour", methods=("POST",))
TOKEN_WRITE_PER_TOKEN = Rule("10/minute;30/hour", per="token", methods=("POST",))
DOWNLOAD_PER_ADDRESS = Rule("30/minute;300/hour")
DOWNLOAD_PER_TOKEN = Rule("10/minute;60/hour", per="token")
VERIFY = Rule("10/minute;100/hour", methods=("POST",))
# Each signing page's POSTs (sign, decline, withdraw, ask for a copy) per address;
# generous enough for a family or a clinic signing on one connection, tight enough to stop
# guessing and flooding.
PAGE_POSTS = Rule("10/minute;60/hour", methods=("POST",))

_READ = (TOKEN_READ_PER_ADDRESS, TOKEN_READ_PER_TOKEN)
_WRITE = (*_READ, TOKEN_WRITE_PER_ADDRESS, TOKEN_WRITE_PER_TOKEN)

LIMITS: dict[str, tuple[Rule, ...]] = {
    "signing.SigningLink": _WRITE,
    "signing.SigningDecline": _WRITE,
    "signing.SigningWithdrawal": _WRITE,
    "verification.Verify": (VERIFY,),
    "downloads.RecordDownload": (DOWNLOAD_PER_ADDRESS, DOWNLOAD_PER_TOKEN),
    # The signing pages (their POSTs also count against PAGE_POSTS).
    "consent_pages.sign_form": _READ,
    "consent_pages.sign": _WRITE,
    "consent_pages.copy": _WRITE,
    "consent_pages.decline_form": _READ,
    "consent_pages.decline": _WRITE,
    "consent_pages.withdraw_form": _READ,
    "consent_pages.withdraw": _WRITE,
}

BLUEPRINT_LIMITS: dict[str, tuple[Rule, ...]] = {"consent_pages": (PAGE_POSTS,)}
