"""Configuration from `FRONTDESK_*` environment variables, with overrides for tests.

Any setting can instead be read from a file named by `FRONTDESK_<NAME>_FILE` (for secrets:
Docker/systemd credentials); the file must not be readable by group or others.

Every setting a service reads is listed in SETTINGS with its default, so the README's
configuration table and the code cannot drift apart (a test compares them).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from typing import Any

# name (without the FRONTDESK_ prefix) -> (default, description)
SETTINGS: dict[str, tuple[Any, str]] = {
    "SECRET_KEY": (
        "dev-insecure-change-me",
        "Secret for CSRF, signed cookies and links; production processes refuse to start without one of 32+ bytes.",
    ),
    "DATABASE_URL": (
        None,
        "Database URL of the service being started (overrides the per-service one).",
    ),
    "BOOKING_DATABASE_URL": ("sqlite:///var/booking.db", "Booking's database URL."),
    "CONSENT_DATABASE_URL": ("sqlite:///var/consent.db", "Consent's database URL."),
    "NOTIFY_DATABASE_URL": ("sqlite:///var/notify.db", "Notify's database URL."),
    "CONSOLE_DATABASE_URL": (
        "sqlite:///var/console.db",
        "The staff console's database URL (sign-in links, session hashes, its outbox).",
    ),
    "PUBLIC_URL": (
        "http://127.0.0.1:8000",
        "Public base URL clients see (links in emails and feeds).",
    ),
    "BOOKING_URL": ("http://127.0.0.1:8000/booking", "Internal URL of the booking service."),
    "CONSENT_URL": ("http://127.0.0.1:8000/consent", "Internal URL of the consent service."),
    "NOTIFY_URL": ("http://127.0.0.1:8000/notify", "Internal URL of the notify service."),
    "SERVICE_TOKEN": (None, "Token (role `service`) this service presents to the others."),
    "HTTP_TIMEOUT": (5.0, "Seconds before a service-to-service call gives up."),
    "MAX_BODY_BYTES": (2 * 1024 * 1024, "Largest request body accepted (413 above)."),
    "TRUSTED_PROXIES": (0, "How many reverse proxies set X-Forwarded-* in front of the app."),
    "LOG_LEVEL": ("INFO", "Logging level of the JSON-lines log."),
    "INSTANCE_DIR": ("var", "Folder for SQLite files, the signing key and outbox files."),
    "ORG_NAME": (
        "Frontdesk",
        "Organization name shown on pages, emails and records until an admin saves the organization profile (`PUT /booking/api/v1/organization`).",
    ),
    "LANGUAGES": (
        "en,fr,es,ar",
        "Languages offered on pages, emails, SMS and records, comma-separated; each needs its catalogs (translations/CODE/, notify's templates/CODE/, record labels); English is the fallback.",
    ),
    "SMTP_URL": (
        "console://",
        "smtp://user:pass@host:587?starttls=1, smtps://..., console:// or file://PATH.",
    ),
    "MAIL_FROM": (
        "Frontdesk <no-reply@localhost>",
        "From address of outgoing email (and the SENT-BY of invitations' organizer); the organization profile's name is its display name.",
    ),
    "REPLY_TO": (
        None,
        "Reply-To of every email, a mailbox someone reads, until the organization profile gives one; emails ask for replies only when set.",
    ),
    "SMTP_UTF8": (
        False,
        "The SMTP relay supports SMTPUTF8: accept addresses with non-ASCII characters before the @.",
    ),
    "SMS_URL": ("console://", "twilio://SID:TOKEN@host/FROM, console:// or file://PATH."),
    "BILLING_EMAIL": (None, "Address that receives a billing notice when a session is completed."),
    "BILLING_WEBHOOK_URL": (None, "Webhook that receives a signed billing notice on completion."),
    "BILLING_WEBHOOK_SECRET": (None, "Secret (whsec_...) for signing billing webhooks."),
    "FEED_FULL_DETAILS": (False, "Show client names in staff iCal feeds (privacy opt-in)."),
    "SIGNING_P12": (None, "PKCS#12 file with the organization's signing certificate."),
    "SIGNING_P12_PASSWORD": (None, "Password of FRONTDESK_SIGNING_P12."),
    "TSA_URL": (None, "RFC 3161 timestamp service for PAdES B-T signatures."),
    "RATELIMIT_STORAGE_URL": ("memory://", "Rate-limit storage (redis://... when scaled out)."),
    "MAX_BOOKINGS_PER_EMAIL_PER_DAY": (
        5,
        "Bookings one email address or phone number may make on the public pages and API in "
        "24 hours (0: no cap).",
    ),
    "MAX_QUESTIONS_PER_CONTACT_PER_DAY": (
        5,
        "Questions one email address or phone number may ask ('ask us') in 24 hours (0: no cap).",
    ),
    "MAX_QUESTION_REPLIES_PER_CONTACT_PER_DAY": (
        20,
        "Replies one email address or phone number may write in its question threads in 24 hours "
        "(0: no cap).",
    ),
    "ALLOW_PRIVATE_WEBHOOKS": (False, "Allow webhook and feed URLs on loopback/private addresses."),
    "RETENTION_APPOINTMENT_DAYS": (
        730,
        "Days after an appointment ends before its client details are anonymized (0: never).",
    ),
    "RETENTION_MESSAGE_DAYS": (
        90,
        "Days after a message was created before its content and recipient are dropped (0: never).",
    ),
    "RETENTION_CONSENT_RECORD_DAYS": (
        2555,
        "Days a signed consent record is kept after it ends, when erasure was asked for or it is no longer in force (0: forever).",
    ),
    "RETENTION_CONSENT_REQUEST_DAYS": (
        365,
        "Days a declined or expired (never signed) consent request is kept (0: forever).",
    ),
    "SLOT_CACHE_SIZE": (
        256,
        "Slot searches each booking worker keeps, checked against the calendars' versions (0: off).",
    ),
}

_TRUE = {"1", "true", "yes", "on"}


def _coerce(value: str, default: Any) -> Any:
    """Turn an environment string into the type of the default."""
    if isinstance(default, bool):
        return value.strip().lower() in _TRUE
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    return value


class ConfigError(ValueError):
    """A setting that cannot be used as given."""


MIN_SECRET_KEY_BYTES = 32


def require_strong_secret_key(secret: str) -> None:
    """Raise ConfigError unless the secret key is fit for production: set, not the documented
    default, at least 32 bytes. Manage and signing links are derived from it, so a known or
    guessable key lets anyone forge them. Only `frontdesk serve` and tests may do without."""
    if not secret or secret == SETTINGS["SECRET_KEY"][0]:
        problem = "is not set (or empty, or the documented default)"
    elif len(secret.encode()) < MIN_SECRET_KEY_BYTES:
        problem = f"is {len(secret.encode())} bytes long; it needs at least {MIN_SECRET_KEY_BYTES}"
    else:
        return
    raise ConfigError(
        f"FRONTDESK_SECRET_KEY {problem}: links in emails would be forgeable. Set it to a long "
        "random value, e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`."
    )


def read_secret_file(path: str, name: str) -> str:
    """Read a setting from a file (`FRONTDESK_<NAME>_FILE`) that only its owner can read."""
    try:
        mode = os.stat(path).st_mode
        if stat.S_IMODE(mode) & 0o077:
            raise ConfigError(
                f"FRONTDESK_{name}_FILE={path} is readable by group or others; run: chmod 600 {path}"
            )
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError as exc:
        raise ConfigError(f"FRONTDESK_{name}_FILE={path} cannot be read: {exc.strerror}") from exc


def load_config(
    service: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Return the settings for one service: defaults, then `FRONTDESK_*`, then overrides."""
    environ = os.environ if environ is None else environ
    config: dict[str, Any] = {}
    for name, (default, _doc) in SETTINGS.items():
        raw = environ.get(f"FRONTDESK_{name}")
        if (raw is None or raw == "") and environ.get(f"FRONTDESK_{name}_FILE"):
            raw = read_secret_file(environ[f"FRONTDESK_{name}_FILE"], name)
        config[name] = default if raw is None or raw == "" else _coerce(raw, default)
    if service:
        config["SERVICE_NAME"] = service
        config["DATABASE_URL"] = config["DATABASE_URL"] or config[f"{service.upper()}_DATABASE_URL"]
    config.update(overrides or {})
    return config
