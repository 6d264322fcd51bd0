"""Channels: email over SMTP (or a console/file outbox), SMS through Twilio's API, signed webhooks.

Every send either returns or raises a DeliveryError that says whether trying again can help
(TransientError, with an optional Retry-After) or not (PermanentError).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import smtplib
import ssl
import sys
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import nh3

from shared import outbound
from shared.plain_text import one_line
from shared.timestamps import utc_iso

SMTP_TIMEOUT = 15.0
HTTP_TIMEOUT = 10.0
USER_AGENT = "Frontdesk-Notify/1"


class DeliveryError(Exception):
    """A send that did not work."""

    retry_after: float | None = None


class TransientError(DeliveryError):
    """Worth trying again later (SMTP 4xx, connection refused, timeouts, HTTP 5xx/429)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(DeliveryError):
    """Trying again will not help (SMTP 5xx, HTTP 4xx other than 429, bad configuration)."""


class EndpointGone(PermanentError):
    """The webhook receiver answered 410 Gone: stop sending to it."""


@dataclass(frozen=True)
class CalendarPart:
    """A calendar to send inline (iMIP) and as an .ics attachment."""

    method: str
    filename: str
    content: str


def redact(address: str) -> str:
    """An address or number with most characters hidden, for logs and the console outbox."""
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain[:1]}***"
    return f"{address[:3]}***{address[-2:]}" if len(address) > 6 else "***"


def _outbox_dir(url: str) -> Path:
    """The folder of a file:// outbox URL (file:///abs/dir or file://relative/dir)."""
    parts = urlsplit(url)
    path = Path(unquote(parts.netloc + parts.path))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_atomically(path: Path, content: bytes) -> None:
    """Write a file so readers never see half of it; a retry overwrites the same name."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)


def _safe_name(message_id: str) -> str:
    return "".join(c for c in message_id if c.isalnum() or c in "._-") or "message"


# --- email -----------------------------------------------------------------------------


def sender(mail_from: str, org_name: str | None) -> str:
    """The From header: FRONTDESK_MAIL_FROM's address under the organization's name, so the
    client sees who writes to them (the configured display name when no name was sent)."""
    if not org_name:
        return mail_from
    name = one_line(org_name)
    return str(Address(display_name=name, addr_spec=parseaddr(mail_from)[1] or mail_from))


def build_email(
    *,
    message_id: str,
    mail_from: str,
    reply_to: str | None,
    to: str,
    subject: str,
    text: str | None,
    html: str | None,
    calendars: list[CalendarPart],
) -> EmailMessage:
    """An email in the layout every client accepts for invitations (iMIP):

    multipart/mixed > (multipart/alternative: text/plain, text/html, text/calendar;
    method=METHOD) + the same calendar as an .ics attachment. Without calendars it is a
    plain multipart/alternative (or a single text part).
    """
    message = EmailMessage()
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(datetime.now().astimezone())
    message["From"] = mail_from
    if reply_to:
        message["Reply-To"] = reply_to
    message["To"] = to
    message["Subject"] = subject
    message["Auto-Submitted"] = "auto-generated"
    if text is None:
        text = nh3.clean(html or "", tags=set())
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    if calendars:
        inline = calendars[0]
        message.add_alternative(
            inline.content, subtype="calendar", params={"method": inline.method}
        )
        for part in calendars:
            message.add_attachment(
                part.content.encode(),
                maintype="application",
                subtype="ics",
                filename=part.filename,
            )
    return message


def _smtp_error(exc: Exception) -> DeliveryError:
    """Classify an smtplib/socket error: 4xx and network trouble are transient, 5xx permanent."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(f"{c} {m.decode(errors='replace')}" for c, m in exc.recipients.values())
        if codes and all(500 <= c < 600 for c in codes):
            return PermanentError(f"SMTP recipient refused: {detail}")
        return TransientError(f"SMTP recipient deferred: {detail}")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        # The server's configuration, not the message, is wrong: keep the message for later.
        return TransientError(f"SMTP authentication failed: {exc.smtp_code}")
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error
        detail = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        text = f"SMTP {exc.smtp_code} {detail}".strip()
        if 500 <= exc.smtp_code < 600:
            return PermanentError(text)
        return TransientError(text)
    if isinstance(exc, (smtplib.SMTPException, OSError)):
        return TransientError(f"SMTP connection problem: {type(exc).__name__}: {exc}")
    return PermanentError(f"{type(exc).__name__}: {exc}")


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The system's trust store, verified hostnames; loaded once (it takes a while)."""
    return ssl.create_default_context()


class EmailSender:
    """Sends emails to FRONTDESK_SMTP_URL, reusing one SMTP connection for a batch."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.parts = urlsplit(url)
        self.scheme = self.parts.scheme
        if self.scheme not in ("smtp", "smtps", "console", "file"):
            raise PermanentError(f"unsupported SMTP URL scheme {self.scheme!r}")
        self._connection: smtplib.SMTP | None = None

    def __enter__(self) -> EmailSender:
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Say QUIT (or just drop the connection if the server is gone)."""
        if self._connection is not None:
            try:
                self._connection.quit()
            except (smtplib.SMTPException, OSError):
                self._connection.close()
            self._connection = None

    def _connect(self) -> smtplib.SMTP:
        if self._connection is not None:
            return self._connection
        host = self.parts.hostname or "localhost"
        query = parse_qs(self.parts.query)
        starttls = query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
        if self.scheme == "smtps":
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                host, self.parts.port or 465, timeout=SMTP_TIMEOUT, context=_tls_context()
            )
        else:
            connection = smtplib.SMTP(
                host, self.parts.port or (587 if starttls else 25), timeout=SMTP_TIMEOUT
            )
        try:
            connection.ehlo()
            if starttls:
                connection.starttls(context=_tls_context())
                connection.ehlo()
            if self.parts.username:
                connection.login(unquote(self.parts.username), unquote(self.parts.password or ""))
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def send(self, message: EmailMessage) -> None:
        """Deliver one message, or raise a DeliveryError."""
        if self.scheme == "console":
            print(
                f"[notify console] email {message['Message-ID']} to {redact(message['To'])}: "
                f"{len(message.as_bytes())} bytes, parts: "
                + ", ".join(part.get_content_type() for part in message.walk()),
                file=sys.stderr,
            )
            return
        if self.scheme == "file":
            path = _outbox_dir(self.url) / f"{_safe_name(message['Message-ID'])}.eml"
            _write_atomically(path, message.as_bytes())
            return
        envelope_from = parseaddr(str(message["From"]))[1]
        try:
            connection = self._connect()
            connection.send_message(message, from_addr=envelope_from, to_addrs=[message["To"]])
        except Exception as exc:
            error = _smtp_error(exc)
            # A refused message leaves the session usable, anything else may not: reconnect.
            if not isinstance(exc, (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError)):
                self._drop()
            raise error from exc

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


# --- HTTP (SMS provider and webhooks) ----------------------------------------------------


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header (seconds or an HTTP date) as seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _http_error(response: httpx.Response, what: str) -> DeliveryError:
    """Classify an HTTP answer: 429 and 5xx are transient, other 4xx permanent."""
    detail = f"{what} answered HTTP {response.status_code}"
    if response.status_code == 429 or response.status_code >= 500:
        return TransientError(detail, retry_after_seconds(response.headers.get("Retry-After")))
    return PermanentError(detail)


def _post(url: str, **kwargs: Any) -> httpx.Response:
    """POST without following redirects; network trouble is transient."""
    try:
        with httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False) as client:
            return client.post(url, **kwargs)
    except httpx.TimeoutException as exc:
        raise TransientError(f"timeout: {type(exc).__name__}") from exc
    except httpx.HTTPError as exc:
        raise TransientError(f"connection problem: {type(exc).__name__}: {exc}") from exc


# --- SMS encoding and length ----------------------------------------------------------------

# GSM 03.38: the basic alphabet (one septet each) and its extension table (an escape and the
# character: two septets each). A body of only these goes as GSM-7, 160 septets in one
# segment, 153 a segment when split (the rest carries the parts' header); any other character
# makes the whole body UCS-2, 70 UTF-16 units in one segment, 67 when split.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")
SEGMENT = {"GSM-7": (160, 153), "UCS-2": (70, 67)}
# Typography that has a plain GSM-7 twin (Babel's times hold narrow no-break spaces).
_PLAIN = str.maketrans(
    {
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u200f": "",  # Babel's right-to-left marks in Arabic numeric dates, always dropped
    }
)
# The left-to-right mark the Arabic templates put before the phone number, so the bidi
# algorithm keeps its groups in order (one UTF-16 unit; an isolate, LRI ... PDI, takes two):
# a UCS-2 body keeps it, a GSM-7 one goes without (it would make the body UCS-2).
LEFT_TO_RIGHT_MARK = "\u200e"


def is_gsm(text: str) -> bool:
    """Every character is in the GSM-7 alphabet or its extension table."""
    return all(c in GSM_BASIC or c in GSM_EXTENDED for c in text)


def _folded(char: str) -> str:
    """A Latin letter outside GSM-7 without its accent (á -> a, û -> u), when that is GSM-7."""
    if char in GSM_BASIC or char in GSM_EXTENDED:
        return char
    base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
    return base if base and is_gsm(base) else char


def sms_body(text: str) -> str:
    """The text as sent: plain spaces, quotes and dashes; and, when a few accented Latin letters
    are all that keep it out of GSM-7 (Spanish "sáb", French "août"), those letters without
    their accents, so it costs a third of the segments. Other scripts (Arabic) stay as written,
    with their left-to-right marks."""
    plain = text.translate(_PLAIN)
    folded = "".join(_folded(c) for c in plain.replace(LEFT_TO_RIGHT_MARK, ""))
    return folded if is_gsm(folded) else plain


@dataclass(frozen=True)
class SmsSize:
    """How an SMS body travels: its encoding and the segments (parts) it is split into."""

    encoding: str  # GSM-7 | UCS-2
    segments: int


def sms_size(body: str) -> SmsSize:
    """The encoding and segment count of a body (sms_body's output), as carriers split it:
    a GSM-7 escape pair or a UTF-16 surrogate pair never straddles two segments."""
    encoding = "GSM-7" if is_gsm(body) else "UCS-2"
    if encoding == "GSM-7":
        units = [2 if c in GSM_EXTENDED else 1 for c in body]
    else:
        units = [len(c.encode("utf-16-le")) // 2 for c in body]
    single, part = SEGMENT[encoding]
    if sum(units) <= single:
        return SmsSize(encoding, 1)
    segments, used = 1, 0
    for width in units:
        if used + width > part:
            segments, used = segments + 1, 0
        used += width
    return SmsSize(encoding, segments)


def send_sms(*, url: str, to: str, body: str, message_id: str) -> None:
    """Send an SMS through FRONTDESK_SMS_URL (twilio://SID:TOKEN@host[:port]/FROM, console://, file://DIR)."""
    parts = urlsplit(url)
    if parts.scheme == "console":
        print(
            f"[notify console] sms {message_id} to {redact(to)}: {len(body)} chars", file=sys.stderr
        )
        return
    if parts.scheme == "file":
        record = {"message_id": message_id, "to": to, "body": body}
        path = _outbox_dir(url) / f"{_safe_name(message_id)}.sms.json"
        _write_atomically(path, json.dumps(record, ensure_ascii=False).encode())
        return
    if parts.scheme != "twilio":
        raise PermanentError(f"unsupported SMS URL scheme {parts.scheme!r}")
    sid, token = unquote(parts.username or ""), unquote(parts.password or "")
    sender = unquote(parts.path.lstrip("/"))
    if not sid or not token or not sender:
        raise PermanentError("FRONTDESK_SMS_URL needs twilio://ACCOUNT_SID:AUTH_TOKEN@host/FROM")
    host = parts.hostname or "api.twilio.com"
    local = host in ("127.0.0.1", "localhost", "::1")
    scheme = parse_qs(parts.query).get("scheme", ["http" if local else "https"])[0]
    base = f"{scheme}://{host}{':' + str(parts.port) if parts.port else ''}"
    response = _post(
        f"{base}/2010-04-01/Accounts/{sid}/Messages.json",
        data={"To": to, "From": sender, "Body": body},
        auth=(sid, token),
        headers={"User-Agent": USER_AGENT},
    )
    if response.is_success:
        return
    error = _http_error(response, "SMS provider")
    try:
        detail = response.json()
        error.args = (f"{error.args[0]}: {detail.get('code')} {detail.get('message')}",)
    except ValueError:
        pass
    raise error


def signature(*, secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _pin(url: str, allow_private: bool) -> outbound.Target:
    """The webhook's target, pinned to a vetted public address (unless private ones are allowed)."""
    try:
        return outbound.pin(url, allow_private=allow_private)
    except outbound.Unresolvable as exc:
        raise TransientError(outbound.REFUSED) from exc  # DNS may be back on the next try
    except outbound.RefusedAddress as exc:
        raise PermanentError(outbound.REFUSED) from exc


def send_webhook(
    *,
    url: str,
    secret: str,
    webhook_id: str,
    event: str,
    payload: Any,
    occurred_at: datetime,
    allow_private: bool,
) -> None:
    """POST a signed Standard Webhooks JSON event; the same id and body on every retry."""
    target = _pin(url, allow_private)
    body = json.dumps(
        {
            "type": event,
            "timestamp": utc_iso(occurred_at),
            "data": payload,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    timestamp = int(time.time())
    response = _post(
        target.url,
        content=body,
        extensions=target.extensions,
        headers={
            **target.headers,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(
                secret=secret, webhook_id=webhook_id, timestamp=timestamp, body=body
            ),
        },
    )
    if response.is_success:
        return
    if response.status_code == 410:
        raise EndpointGone("the webhook endpoint answered 410 Gone; it is now disabled")
    raise _http_error(response, "webhook endpoint")
