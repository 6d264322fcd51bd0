"""The console's rate limits: the sign-in form, per client address (per email address: in
pages.sign_in, which knows the form's field) and the sign-in links, per address and per link."""

from __future__ import annotations

from shared.rate_limits import Rule

SIGN_IN_PER_ADDRESS = Rule("10/minute;50/hour", methods=("POST",))
LINK_PER_ADDRESS = Rule("30/minute;300/hour")
LINK_PER_TOKEN = Rule("10/minute;30/hour", per="token")

LIMITS: dict[str, tuple[Rule, ...]] = {
    "console_sign_in.sign_in": (SIGN_IN_PER_ADDRESS,),
    "console_sign_in.link": (LINK_PER_ADDRESS, LINK_PER_TOKEN),
    "console_sign_in.use_link": (LINK_PER_ADDRESS, LINK_PER_TOKEN),
}
