"""Rate limits on public routes, per client address and per secret token, on the app's one limiter.

Each service names its limits in its `rate_limits` module, in two tables: endpoint -> rules
(`LIMITS`) and blueprint -> rules put on every route of the blueprint (`BLUEPRINT_LIMITS`, the page
forms' POSTs), and applies both with `limit_routes(app, LIMITS, BLUEPRINT_LIMITS)` once its
routes are registered: no limit is written anywhere else. The limiter is the one
`shared.pages.init_pages` made (storage: FRONTDESK_RATELIMIT_STORAGE_URL). A token is keyed by
a SHA-256 of the token (never the token itself), so one leaked link is limited however many
addresses use it, and the limiter's storage holds nothing that opens a door. IPv6 callers are
counted by their /64, which one household or host gets whole. Callers presenting a valid API
token (staff, admin, services) are not counted: these limits are for the anonymous public.
A breach is a 429 problem (`rate_limited`) with Retry-After, or the friendly page for browsers.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flask import Flask, current_app, g, request
from flask_limiter import Limiter

from shared import auth, db
from shared.errors import Unauthorized


@dataclass(frozen=True)
class Rule:
    """One limit on a route: `rate` in Flask-Limiter's notation ("10/minute;60/hour"), counted
    per client address (`per="address"`), per the route's `token` (`per="token"`) or per the
    form's `contact` (`per="contact"`), for the given methods (all when empty)."""

    rate: str
    per: str = "address"
    methods: tuple[str, ...] = ()


def client_address() -> str:
    """The caller's address as counted: IPv4 whole (also when IPv4-mapped), IPv6 by its /64."""
    address = request.remote_addr or "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def token_key() -> str:
    """The route's secret token, hashed (with a purpose of its own, so it matches no stored hash)."""
    token = str((request.view_args or {}).get("token", ""))
    return "token:" + hashlib.sha256(b"frontdesk-rate-limit:" + token.encode()).hexdigest()


def contact_key() -> str:
    """The email address or phone number a form names (its `contact` field), folded and hashed:
    "lost my link?" is limited per contact however many addresses ask for it. A phone number
    counts by its last 9 digits, written with or without its country code alike."""
    typed = (request.form.get("contact") or "").strip().casefold()
    digits = "".join(c for c in typed if c.isdigit())
    folded = typed if "@" in typed or not digits else digits[-9:]
    return "contact:" + hashlib.sha256(b"frontdesk-rate-limit:" + folded.encode()).hexdigest()


KEYS = {"address": client_address, "token": token_key, "contact": contact_key}


def presents_api_token() -> bool:
    """True when the request carries a valid API token (checked once per request)."""
    if "rate_limit_exempt" not in g:
        header = request.headers.get("Authorization")
        exempt = False
        if header:
            try:
                auth.authenticate(
                    session=db.session(),
                    model=current_app.extensions["frontdesk_token_model"],
                    header=header,
                )
                exempt = True
            except Unauthorized:
                exempt = False
        g.rate_limit_exempt = exempt
    return g.rate_limit_exempt


def limiter_of(app: Flask) -> Limiter:
    """The app's limiter (made by shared.pages.init_pages)."""
    return app.extensions["frontdesk_limiter"]


def limit_routes(
    app: Flask,
    limits: Mapping[str, Sequence[Rule]],
    blueprint_limits: Mapping[str, Sequence[Rule]] | None = None,
) -> None:
    """Put each endpoint's rules on its view and each blueprint's on every route of it; an
    unknown endpoint or blueprint fails at start, not silently.

    With limits off (FRONTDESK_RATELIMIT_ENABLED=false) the views stay as they are: the
    limiter's wrapper would still sort through the rules on every request.
    """
    limiter = limiter_of(app)
    for name, rules in (blueprint_limits or {}).items():
        blueprint = app.blueprints[name]
        for rule in rules:
            _check(name, rule)
            limiter.limit(rule.rate, key_func=KEYS[rule.per], methods=list(rule.methods) or None)(
                blueprint
            )
    for endpoint, rules in limits.items():
        view = app.view_functions[endpoint]
        if not limiter.enabled:
            continue
        for rule in rules:
            _check(endpoint, rule)
            view = limiter.limit(
                rule.rate,
                key_func=KEYS[rule.per],
                methods=list(rule.methods) or None,
                per_method=True,
                exempt_when=presents_api_token,
                override_defaults=False,  # a blueprint's own limit (the pages' POSTs) still counts
            )(view)
        app.view_functions[endpoint] = view


def _check(name: str, rule: Rule) -> None:
    if rule.per not in KEYS:
        raise ValueError(f"{name}: count per one of {', '.join(KEYS)}, not {rule.per}")
